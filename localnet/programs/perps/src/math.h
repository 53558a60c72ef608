/* Exact integer arithmetic for prices and USD x 1e6 amounts. BPF has no 128-bit multiply or divide (and no
 * signed division), so products go through a hand-rolled u128. */
#pragma once
#include "solana.h"

typedef struct { uint64_t hi, lo; } u128;

static u128 mul64(uint64_t a, uint64_t b) {
  uint64_t a_lo = a & 0xffffffffULL, a_hi = a >> 32, b_lo = b & 0xffffffffULL, b_hi = b >> 32;
  uint64_t p0 = a_lo * b_lo, p1 = a_lo * b_hi, p2 = a_hi * b_lo, p3 = a_hi * b_hi;
  uint64_t mid = (p0 >> 32) + (p1 & 0xffffffffULL) + (p2 & 0xffffffffULL);
  u128 r;
  r.lo = (p0 & 0xffffffffULL) | (mid << 32);
  r.hi = p3 + (p1 >> 32) + (p2 >> 32) + (mid >> 32);
  return r;
}

/* floor(n / d), and the remainder; false when d is 0 or the quotient does not fit in 64 bits. */
static bool divrem128(u128 n, uint64_t d, uint64_t *q, uint64_t *r) {
  if (d == 0 || n.hi >= d) return false;
  uint64_t rem = n.hi, quo = 0;
  for (int i = 63; i >= 0; i--) {
    uint64_t carry = rem >> 63;
    rem = (rem << 1) | ((n.lo >> i) & 1);
    quo <<= 1;
    if (carry || rem >= d) {
      rem -= d;
      quo |= 1;
    }
  }
  *q = quo;
  *r = rem;
  return true;
}

/* floor(a * b / d) without overflow in the product. */
static bool mul_div(uint64_t a, uint64_t b, uint64_t d, uint64_t *out) {
  uint64_t rem;
  return divrem128(mul64(a, b), d, out, &rem);
}

/* ceil(a * b / d): the public reference code's divCeil (julianfssen/jupiter-perps-anchor-idl-parsing src/utils.ts). */
static bool mul_div_ceil(uint64_t a, uint64_t b, uint64_t d, uint64_t *out) {
  uint64_t rem;
  if (!divrem128(mul64(a, b), d, out, &rem)) return false;
  if (rem != 0) {
    if (*out == ~0ULL) return false;
    *out += 1;
  }
  return true;
}

static bool pow10(uint32_t n, uint64_t *out) {
  if (n > 19) return false;
  uint64_t v = 1;
  for (uint32_t i = 0; i < n; i++) v *= 10;
  *out = v;
  return true;
}

/* value x 10^(expo + 6), floored: an oracle price in USD x 1e6. */
static bool scale_usd6(uint64_t value, int32_t expo, uint64_t *out) {
  int32_t e = expo + 6;
  uint64_t p;
  if (e >= 0) {
    if (!pow10((uint32_t)e, &p)) return false;
    return mul_div(value, p, 1, out);
  }
  if (!pow10((uint32_t)(-e), &p)) return false;
  *out = value / p;
  return true;
}

/* Little-endian field access at any alignment. */
static uint64_t rd64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
  return v;
}
static uint32_t rd32(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }
static void wr64(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; i++) {
    p[i] = (uint8_t)v;
    v >>= 8;
  }
}
static bool key_eq(const SolPubkey *key, const uint8_t *p) {
  for (int i = 0; i < 32; i++)
    if (key->x[i] != p[i]) return false;
  return true;
}
