/* Anchor's emit_cpi!: an event is the data of an instruction the program sends to itself, signed by its event
 * authority PDA ["__event_authority"], so indexers read it from the transaction's inner instructions:
 *   EVENT_IX_TAG (u64 0x1d9acb512ea545e4, little-endian) + sha256("event:<Name>")[0..8] + Borsh of the event.
 * (anchor-lang event.rs EVENT_IX_TAG_LE; the program accepts the self-call only when the authority signed it.)
 * Field layouts are the public IDL's (monakki/jup-perps-client generator/idl/jupiter-perpetuals.json @91cec15). */
#pragma once
#include "cpi.h"

static const uint8_t EVENT_IX_TAG_LE[8] = {0xe4, 0x45, 0xa5, 0x2e, 0x51, 0xcb, 0x9a, 0x1d};
#define EVENT_AUTHORITY_SEED "__event_authority"

typedef struct {
  SolAccountMeta meta;
  SolAccountInfo infos[2];
  SolPubkey program;
  uint8_t data[512];
} EventScratch;

#define EVENT_SCRATCH (HEAP_START + 8192)

typedef struct { uint8_t *p; } Writer;

static void put_bytes(Writer *w, const uint8_t *src, uint64_t n) {
  sol_memcpy_(w->p, src, n);
  w->p += n;
}
static void put_u8(Writer *w, uint8_t v) { *w->p++ = v; }
static void put_u64(Writer *w, uint64_t v) {
  wr64(w->p, v);
  w->p += 8;
}
static void put_key(Writer *w, const uint8_t *key) { put_bytes(w, key, 32); }
static void put_some_u64(Writer *w, uint64_t v) {
  put_u8(w, 1);
  put_u64(w, v);
}

/* Start an event's data in the scratch buffer: tag, then the event's discriminator. */
static void event_begin(Writer *w, const uint8_t disc[8]) {
  w->p = ((EventScratch *)EVENT_SCRATCH)->data;
  put_bytes(w, EVENT_IX_TAG_LE, 8);
  put_bytes(w, disc, 8);
}

/* The event authority PDA, checked against the account passed in; its bump for signing. */
static uint64_t event_authority_bump(const SolPubkey *program_id, const SolAccountInfo *authority, uint8_t *bump) {
  SolSignerSeed seeds[1] = {{(const uint8_t *)EVENT_AUTHORITY_SEED, sizeof(EVENT_AUTHORITY_SEED) - 1}};
  SolPubkey derived;
  if (sol_try_find_program_address(seeds, 1, program_id, &derived, bump) != 0 || !key_eq(authority->key, derived.x)) {
    FAIL(E_CONSTRAINT_SEEDS, "ConstraintSeeds");
  }
  return 0;
}

/* Send the event written since event_begin to this program, signed by the event authority. */
static uint64_t event_emit(const SolPubkey *program_id, SolAccountInfo *authority, SolAccountInfo *program, const Writer *w) {
  EventScratch *s = (EventScratch *)EVENT_SCRATCH;
  uint8_t bump;
  TRY(event_authority_bump(program_id, authority, &bump));
  s->program = *program_id;
  s->infos[0] = *authority;
  s->infos[1] = *program;
  s->meta.pubkey = authority->key;
  s->meta.is_writable = false;
  s->meta.is_signer = true;
  SolInstruction ix = {&s->program, &s->meta, 1, s->data, (uint64_t)(w->p - s->data)};
  SolSignerSeed seeds[2] = {{(const uint8_t *)EVENT_AUTHORITY_SEED, sizeof(EVENT_AUTHORITY_SEED) - 1}, {&bump, 1}};
  SolSignerSeeds signer = {seeds, 2};
  return sol_invoke_signed_c(&ix, s->infos, 2, &signer, 1);
}

/* The self-call that carries an event: accepted only when the event authority signed it (Anchor's
 * handle_event_cpi checks exactly this), so no one else can forge the program's events. */
static uint64_t accept_event(const SolPubkey *program_id, const SolAccountInfo *accounts, uint64_t n) {
  uint8_t bump;
  if (n < 1 || !accounts[0].is_signer) FAIL(E_CONSTRAINT_SIGNER, "ConstraintSigner");
  return event_authority_bump(program_id, &accounts[0], &bump);
}
