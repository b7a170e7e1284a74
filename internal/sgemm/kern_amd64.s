#include "textflag.h"

// AVX-512 single-precision GEMM micro-kernels (see sgemm_amd64.go).

// ZERO24 clears the 24 accumulators Z0–Z23.
#define ZERO24 \
	VPXORD Z0, Z0, Z0; \
	VPXORD Z1, Z1, Z1; \
	VPXORD Z2, Z2, Z2; \
	VPXORD Z3, Z3, Z3; \
	VPXORD Z4, Z4, Z4; \
	VPXORD Z5, Z5, Z5; \
	VPXORD Z6, Z6, Z6; \
	VPXORD Z7, Z7, Z7; \
	VPXORD Z8, Z8, Z8; \
	VPXORD Z9, Z9, Z9; \
	VPXORD Z10, Z10, Z10; \
	VPXORD Z11, Z11, Z11; \
	VPXORD Z12, Z12, Z12; \
	VPXORD Z13, Z13, Z13; \
	VPXORD Z14, Z14, Z14; \
	VPXORD Z15, Z15, Z15; \
	VPXORD Z16, Z16, Z16; \
	VPXORD Z17, Z17, Z17; \
	VPXORD Z18, Z18, Z18; \
	VPXORD Z19, Z19, Z19; \
	VPXORD Z20, Z20, Z20; \
	VPXORD Z21, Z21, Z21; \
	VPXORD Z22, Z22, Z22; \
	VPXORD Z23, Z23, Z23

// ROWK: one k step of output row r of the 8×48 NN kernel: broadcast
// A[r][k] (row r's pointer plus the running offset R13) and multiply-add it
// with the three B vectors of row k.
#define ROWK(ptr, acc0, acc1, acc2) \
	VBROADCASTSS (ptr)(R13*1), Z27; \
	VFMADD231PS Z24, Z27, acc0; \
	VFMADD231PS Z25, Z27, acc1; \
	VFMADD231PS Z26, Z27, acc2

// STORE0: C row = alpha·acc (C is not read: beta = 0 ignores NaN there).
#define STORE0(acc0, acc1, acc2) \
	VMULPS Z28, acc0, acc0; \
	VMULPS Z28, acc1, acc1; \
	VMULPS Z28, acc2, acc2; \
	VMOVUPS acc0, K1, (DX); \
	VMOVUPS acc1, K2, 64(DX); \
	VMOVUPS acc2, K3, 128(DX); \
	ADDQ R10, DX

// STOREB: C row = alpha·acc + beta·C.
#define STOREB(acc0, acc1, acc2) \
	VMULPS Z28, acc0, acc0; \
	VMULPS Z28, acc1, acc1; \
	VMULPS Z28, acc2, acc2; \
	VMOVUPS.Z (DX), K1, Z30; \
	VFMADD231PS Z30, Z29, acc0; \
	VMOVUPS.Z 64(DX), K2, Z31; \
	VFMADD231PS Z31, Z29, acc1; \
	VMOVUPS.Z 128(DX), K3, Z30; \
	VFMADD231PS Z30, Z29, acc2; \
	VMOVUPS acc0, K1, (DX); \
	VMOVUPS acc1, K2, 64(DX); \
	VMOVUPS acc2, K3, 128(DX); \
	ADDQ R10, DX

// func kernNN(kc int, ap *[8]*float32, astep int, b *float32, ldb int, c *float32, ldc int, alpha, beta float32, rows int, m1, m2, m3 uint64, useBeta int)
//
// C[0:rows][0:48] = alpha·Σ_k A_r[k·astep] B[k][0:48] + beta·C for the
// eight rows r of op(A) given by pointers (astep is 1 for rows of A, lda
// for columns of a transposed A), B row k at b + k·ldb, and column masks
// m1..m3 (16 bits each) selecting the valid columns.
TEXT ·kernNN(SB), NOSPLIT, $0-104
	MOVQ ap+8(FP), R13
	MOVQ 0(R13), AX
	MOVQ 8(R13), DX
	MOVQ 16(R13), SI
	MOVQ 24(R13), DI
	MOVQ 32(R13), R8
	MOVQ 40(R13), R10
	MOVQ 48(R13), R11
	MOVQ 56(R13), R12
	MOVQ kc+0(FP), CX
	MOVQ astep+16(FP), R14
	SHLQ $2, R14
	MOVQ b+24(FP), BX
	MOVQ ldb+32(FP), R9
	SHLQ $2, R9
	MOVQ m1+72(FP), R13
	KMOVW R13, K1
	MOVQ m2+80(FP), R13
	KMOVW R13, K2
	MOVQ m3+88(FP), R13
	KMOVW R13, K3
	XORQ R13, R13

	ZERO24

	TESTQ CX, CX
	JZ    store

loop:
	VMOVUPS.Z (BX), K1, Z24
	VMOVUPS.Z 64(BX), K2, Z25
	VMOVUPS.Z 128(BX), K3, Z26
	ROWK(AX, Z0, Z1, Z2)
	ROWK(DX, Z3, Z4, Z5)
	ROWK(SI, Z6, Z7, Z8)
	ROWK(DI, Z9, Z10, Z11)
	ROWK(R8, Z12, Z13, Z14)
	ROWK(R10, Z15, Z16, Z17)
	ROWK(R11, Z18, Z19, Z20)
	ROWK(R12, Z21, Z22, Z23)
	ADDQ R14, R13
	ADDQ R9, BX
	DECQ CX
	JNZ  loop

store:
	MOVQ c+40(FP), DX
	MOVQ ldc+48(FP), R10
	SHLQ $2, R10
	VBROADCASTSS alpha+56(FP), Z28
	VBROADCASTSS beta+60(FP), Z29
	MOVQ rows+64(FP), R12
	MOVQ useBeta+96(FP), R11
	TESTQ R11, R11
	JNZ   storeb
	STORE0(Z0, Z1, Z2)
	CMPQ R12, $1
	JLE  done
	STORE0(Z3, Z4, Z5)
	CMPQ R12, $2
	JLE  done
	STORE0(Z6, Z7, Z8)
	CMPQ R12, $3
	JLE  done
	STORE0(Z9, Z10, Z11)
	CMPQ R12, $4
	JLE  done
	STORE0(Z12, Z13, Z14)
	CMPQ R12, $5
	JLE  done
	STORE0(Z15, Z16, Z17)
	CMPQ R12, $6
	JLE  done
	STORE0(Z18, Z19, Z20)
	CMPQ R12, $7
	JLE  done
	STORE0(Z21, Z22, Z23)
	JMP  done

storeb:
	STOREB(Z0, Z1, Z2)
	CMPQ R12, $1
	JLE  done
	STOREB(Z3, Z4, Z5)
	CMPQ R12, $2
	JLE  done
	STOREB(Z6, Z7, Z8)
	CMPQ R12, $3
	JLE  done
	STOREB(Z9, Z10, Z11)
	CMPQ R12, $4
	JLE  done
	STOREB(Z12, Z13, Z14)
	CMPQ R12, $5
	JLE  done
	STOREB(Z15, Z16, Z17)
	CMPQ R12, $6
	JLE  done
	STOREB(Z18, Z19, Z20)
	CMPQ R12, $7
	JLE  done
	STOREB(Z21, Z22, Z23)

done:
	VZEROUPPER
	RET

// FMA6: multiply-add one A vector with the six B vectors into a row of
// six accumulators.
#define FMA6(av, c0, c1, c2, c3, c4, c5) \
	VFMADD231PS Z24, av, c0; \
	VFMADD231PS Z25, av, c1; \
	VFMADD231PS Z26, av, c2; \
	VFMADD231PS Z27, av, c3; \
	VFMADD231PS Z28, av, c4; \
	VFMADD231PS Z29, av, c5

// HSUM reduces acc to its lane sum in the low lane of xacc.
#define HSUM(acc, yacc, xacc) \
	VEXTRACTF64X4 $1, acc, Y30; \
	VADDPS Y30, yacc, yacc; \
	VEXTRACTF32X4 $1, yacc, X30; \
	VADDPS X30, xacc, xacc; \
	VSHUFPS $0x4e, xacc, xacc, X30; \
	VADDPS X30, xacc, xacc; \
	VSHUFPS $0xb1, xacc, xacc, X30; \
	VADDPS X30, xacc, xacc

// EPI0: C = alpha·s. EPIB: C = alpha·s + beta·C (alpha in X28, beta in X29).
#define EPI0(xacc, off) \
	VMULSS X28, xacc, xacc; \
	VMOVSS xacc, off(DI)

#define EPIB(xacc, off) \
	VMULSS X28, xacc, xacc; \
	VFMADD231SS off(DI), X29, xacc; \
	VMOVSS xacc, off(DI)

// func kernDot(n16 int, tail uint64, ap *[4]*float32, bp *[6]*float32, c *float32, ldc int, alpha, beta float32, useBeta int)
//
// C[i][j] = alpha·Σ_t A_i[t]·B_j[t] (+ beta·C[i][j] when useBeta ≠ 0) over
// t < 16·n16 + popcount(tail), for four A rows and six B rows given by
// pointers (the NT product, whose rows are contiguous in both operands)
// and the 4×6 block of C at c (row stride ldc).
TEXT ·kernDot(SB), NOSPLIT, $0-64
	MOVQ n16+0(FP), CX
	MOVQ tail+8(FP), R8
	KMOVW R8, K1
	MOVQ ap+16(FP), R8
	MOVQ 0(R8), AX
	MOVQ 8(R8), BX
	MOVQ 16(R8), DX
	MOVQ 24(R8), R14
	MOVQ bp+24(FP), DI
	MOVQ 0(DI), SI
	MOVQ 8(DI), R9
	MOVQ 16(DI), R10
	MOVQ 24(DI), R11
	MOVQ 32(DI), R12
	MOVQ 40(DI), R8
	XORQ R13, R13

	ZERO24

	TESTQ CX, CX
	JZ    tail

dloop:
	VMOVUPS (SI)(R13*1), Z24
	VMOVUPS (R9)(R13*1), Z25
	VMOVUPS (R10)(R13*1), Z26
	VMOVUPS (R11)(R13*1), Z27
	VMOVUPS (R12)(R13*1), Z28
	VMOVUPS (R8)(R13*1), Z29
	VMOVUPS (AX)(R13*1), Z30
	FMA6(Z30, Z0, Z1, Z2, Z3, Z4, Z5)
	VMOVUPS (BX)(R13*1), Z31
	FMA6(Z31, Z6, Z7, Z8, Z9, Z10, Z11)
	VMOVUPS (DX)(R13*1), Z30
	FMA6(Z30, Z12, Z13, Z14, Z15, Z16, Z17)
	VMOVUPS (R14)(R13*1), Z31
	FMA6(Z31, Z18, Z19, Z20, Z21, Z22, Z23)
	ADDQ $64, R13
	DECQ CX
	JNZ  dloop

tail:
	KORTESTW K1, K1
	JZ       reduce
	VMOVUPS.Z (SI)(R13*1), K1, Z24
	VMOVUPS.Z (R9)(R13*1), K1, Z25
	VMOVUPS.Z (R10)(R13*1), K1, Z26
	VMOVUPS.Z (R11)(R13*1), K1, Z27
	VMOVUPS.Z (R12)(R13*1), K1, Z28
	VMOVUPS.Z (R8)(R13*1), K1, Z29
	VMOVUPS.Z (AX)(R13*1), K1, Z30
	FMA6(Z30, Z0, Z1, Z2, Z3, Z4, Z5)
	VMOVUPS.Z (BX)(R13*1), K1, Z31
	FMA6(Z31, Z6, Z7, Z8, Z9, Z10, Z11)
	VMOVUPS.Z (DX)(R13*1), K1, Z30
	FMA6(Z30, Z12, Z13, Z14, Z15, Z16, Z17)
	VMOVUPS.Z (R14)(R13*1), K1, Z31
	FMA6(Z31, Z18, Z19, Z20, Z21, Z22, Z23)

reduce:
	HSUM(Z0, Y0, X0)
	HSUM(Z1, Y1, X1)
	HSUM(Z2, Y2, X2)
	HSUM(Z3, Y3, X3)
	HSUM(Z4, Y4, X4)
	HSUM(Z5, Y5, X5)
	HSUM(Z6, Y6, X6)
	HSUM(Z7, Y7, X7)
	HSUM(Z8, Y8, X8)
	HSUM(Z9, Y9, X9)
	HSUM(Z10, Y10, X10)
	HSUM(Z11, Y11, X11)
	HSUM(Z12, Y12, X12)
	HSUM(Z13, Y13, X13)
	HSUM(Z14, Y14, X14)
	HSUM(Z15, Y15, X15)
	HSUM(Z16, Y16, X16)
	HSUM(Z17, Y17, X17)
	HSUM(Z18, Y18, X18)
	HSUM(Z19, Y19, X19)
	HSUM(Z20, Y20, X20)
	HSUM(Z21, Y21, X21)
	HSUM(Z22, Y22, X22)
	HSUM(Z23, Y23, X23)
	MOVQ c+32(FP), DI
	MOVQ ldc+40(FP), R9
	SHLQ $2, R9
	VMOVSS alpha+48(FP), X28
	VMOVSS beta+52(FP), X29
	MOVQ useBeta+56(FP), R10
	TESTQ R10, R10
	JNZ epib
	EPI0(X0, 0)
	EPI0(X1, 4)
	EPI0(X2, 8)
	EPI0(X3, 12)
	EPI0(X4, 16)
	EPI0(X5, 20)
	ADDQ R9, DI
	EPI0(X6, 0)
	EPI0(X7, 4)
	EPI0(X8, 8)
	EPI0(X9, 12)
	EPI0(X10, 16)
	EPI0(X11, 20)
	ADDQ R9, DI
	EPI0(X12, 0)
	EPI0(X13, 4)
	EPI0(X14, 8)
	EPI0(X15, 12)
	EPI0(X16, 16)
	EPI0(X17, 20)
	ADDQ R9, DI
	EPI0(X18, 0)
	EPI0(X19, 4)
	EPI0(X20, 8)
	EPI0(X21, 12)
	EPI0(X22, 16)
	EPI0(X23, 20)
	JMP ddone

epib:
	EPIB(X0, 0)
	EPIB(X1, 4)
	EPIB(X2, 8)
	EPIB(X3, 12)
	EPIB(X4, 16)
	EPIB(X5, 20)
	ADDQ R9, DI
	EPIB(X6, 0)
	EPIB(X7, 4)
	EPIB(X8, 8)
	EPIB(X9, 12)
	EPIB(X10, 16)
	EPIB(X11, 20)
	ADDQ R9, DI
	EPIB(X12, 0)
	EPIB(X13, 4)
	EPIB(X14, 8)
	EPIB(X15, 12)
	EPIB(X16, 16)
	EPIB(X17, 20)
	ADDQ R9, DI
	EPIB(X18, 0)
	EPIB(X19, 4)
	EPIB(X20, 8)
	EPIB(X21, 12)
	EPIB(X22, 16)
	EPIB(X23, 20)

ddone:
	VZEROUPPER
	RET
