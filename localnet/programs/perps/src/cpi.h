/* Cross-program calls to System, SPL Token and Associated Token Account. Their argument structures live in a
 * fixed heap region (the 512-byte stack is too small); calls are sequential, so one region serves them all. */
#pragma once
#include "math.h"
#include "ids.h"

#define CPI_SCRATCH (HEAP_START + 4096)

typedef struct {
  SolAccountMeta metas[6];
  SolAccountInfo infos[7];
  SolAccountInfo *origins[7];
  uint8_t data[64];
  SolPubkey program;
} CpiScratch;

static CpiScratch *cpi_scratch(void) { return (CpiScratch *)CPI_SCRATCH; }

static uint64_t invoke(CpiScratch *s, const uint8_t program[32], uint64_t n_accounts, uint64_t data_len,
                       const SolSignerSeeds *signers, int n_signers) {
  for (int i = 0; i < 32; i++) s->program.x[i] = program[i];
  for (uint64_t i = 0; i < n_accounts; i++) s->metas[i].pubkey = s->infos[i].key;
  SolInstruction ix = {&s->program, s->metas, n_accounts, s->data, data_len};
  uint64_t result = sol_invoke_signed_c(&ix, s->infos, (int)n_accounts, signers, n_signers);
  /* The callee may have resized accounts (CreateAccount, ATA creation). The runtime writes the new length into the
   * serialized input, 8 bytes before the data; the deserialized copies must follow, or the next call would look
   * like this program shrinking accounts it does not own. */
  for (uint64_t i = 0; i < n_accounts; i++) s->origins[i]->data_len = *(const uint64_t *)(s->origins[i]->data - 8);
  return result;
}

static void cpi_account(CpiScratch *s, int i, SolAccountInfo *info, bool writable, bool signer) {
  s->infos[i] = *info;
  s->origins[i] = info;
  s->metas[i].is_writable = writable;
  s->metas[i].is_signer = signer;
}

/* Rent-exempt minimum with mainnet's rent: (128 + size) bytes x 3,480 lamports/byte-year x 2 years. */
static uint64_t rent_exempt_lamports(uint64_t size) { return (128 + size) * 3480 * 2; }

/* System CreateAccount for a PDA, funded by `payer`, owned by `owner`. */
static uint64_t create_pda_account(SolAccountInfo *payer, SolAccountInfo *account, uint64_t space,
                                   const SolPubkey *owner, const SolSignerSeeds *seeds) {
  CpiScratch *s = cpi_scratch();
  cpi_account(s, 0, payer, true, true);
  cpi_account(s, 1, account, true, true);
  for (int i = 0; i < 4; i++) s->data[i] = 0;
  wr64(s->data + 4, rent_exempt_lamports(space));
  wr64(s->data + 12, space);
  for (int i = 0; i < 32; i++) s->data[20 + i] = owner->x[i];
  return invoke(s, SYSTEM_PROGRAM_ID, 2, 52, seeds, 1);
}

/* Associated Token Account CreateIdempotent: `ata` for (`wallet`, `mint`), paid by `payer`. */
static uint64_t create_ata(SolAccountInfo *payer, SolAccountInfo *ata, SolAccountInfo *wallet,
                           SolAccountInfo *mint, SolAccountInfo *system, SolAccountInfo *token) {
  CpiScratch *s = cpi_scratch();
  cpi_account(s, 0, payer, true, true);
  cpi_account(s, 1, ata, true, false);
  cpi_account(s, 2, wallet, false, false);
  cpi_account(s, 3, mint, false, false);
  cpi_account(s, 4, system, false, false);
  cpi_account(s, 5, token, false, false);
  s->data[0] = 1;
  return invoke(s, ASSOCIATED_TOKEN_PROGRAM_ID, 6, 1, NULL, 0);
}

/* SPL Token Transfer of `amount` from `from` to `to`, authorised by `authority` (a signer or a PDA with seeds). */
static uint64_t token_transfer(SolAccountInfo *from, SolAccountInfo *to, SolAccountInfo *authority,
                               uint64_t amount, const SolSignerSeeds *seeds) {
  if (amount == 0) return 0;
  CpiScratch *s = cpi_scratch();
  cpi_account(s, 0, from, true, false);
  cpi_account(s, 1, to, true, false);
  cpi_account(s, 2, authority, false, true);
  s->data[0] = 3;
  wr64(s->data + 1, amount);
  return invoke(s, TOKEN_PROGRAM_ID, 3, 9, seeds, seeds ? 1 : 0);
}

/* SPL Token CloseAccount: the empty `account`'s rent goes to `destination`. */
static uint64_t token_close(SolAccountInfo *account, SolAccountInfo *destination, SolAccountInfo *authority,
                            const SolSignerSeeds *seeds) {
  CpiScratch *s = cpi_scratch();
  cpi_account(s, 0, account, true, false);
  cpi_account(s, 1, destination, true, false);
  cpi_account(s, 2, authority, false, true);
  s->data[0] = 9;
  return invoke(s, TOKEN_PROGRAM_ID, 3, 1, seeds, 1);
}
