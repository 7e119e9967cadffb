; Window index lemmas, in integer arithmetic (checked by z3: `make prove` expects `unsat` for every check-sat).
;
; SymbolicWindowIndex (halmos) proves that SessionStore._windowIndex is exactly the function `idx` below for every
; start, period and time, with EVM DIV as the quotient. EVM DIV of two unsigned words is the integer floor division
; (yellow paper), so what is proved here of `idx` over the integers holds of the contract. These facts are
; non-linear: bit-blasting solvers cannot prove them at EVM word width (yices and z3 both time out on monotonicity
; with operands as small as 12 bits), while z3's integer arithmetic proves them at once.

(set-logic NIA)
(define-fun idx ((now Int) (start Int) (period Int)) Int
  (ite (or (= period 0) (< now start)) 0 (div (- now start) period)))

; 1. monotone in time: a later time never has a smaller window index
(push 1)
(declare-const start Int)
(declare-const period Int)
(declare-const t1 Int)
(declare-const t2 Int)
(assert (and (>= start 0) (>= period 0) (>= t1 0) (<= t1 t2)))
(assert (> (idx t1 start period) (idx t2 start period)))
(check-sat)
(pop 1)

; 2. windows: with a period, a time at or after the start lies in window k = idx:
;    [start + k * period, start + (k + 1) * period)
(push 1)
(declare-const start Int)
(declare-const period Int)
(declare-const now Int)
(assert (and (>= start 0) (> period 0) (>= now start)))
(assert (let ((k (idx now start period)))
  (not (and (<= (+ start (* k period)) now) (< now (+ start (* (+ k 1) period)))))))
(check-sat)
(pop 1)

; 3. ... and conversely every time in window k has index k (the windows partition time from the start)
(push 1)
(declare-const start Int)
(declare-const period Int)
(declare-const k Int)
(declare-const r Int)
(assert (and (>= start 0) (> period 0) (>= k 0) (<= 0 r) (< r period)))
(assert (not (= (idx (+ start (* k period) r) start period) k)))
(check-sat)
(pop 1)

; 4. the index advances by at most one window per period: idx(now + period) = idx(now) + 1 at or after the start
(push 1)
(declare-const start Int)
(declare-const period Int)
(declare-const now Int)
(assert (and (>= start 0) (> period 0) (>= now start)))
(assert (not (= (idx (+ now period) start period) (+ (idx now start period) 1))))
(check-sat)
(pop 1)
