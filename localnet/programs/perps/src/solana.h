/* The little of Solana's C ABI the stand-in program needs: types, syscalls, input deserialization.
 * SBPFv0, built with upstream clang -target bpf; see localnet/programs/README.md. */
#pragma once

typedef unsigned char uint8_t;
typedef unsigned short uint16_t;
typedef unsigned int uint32_t;
typedef unsigned long long uint64_t;
typedef signed char int8_t;
typedef int int32_t;
typedef long long int64_t;
typedef _Bool bool;
#define true 1
#define false 0
#define NULL ((void *)0)

typedef struct { uint8_t x[32]; } SolPubkey;

/* Layouts fixed by the runtime's C ABI (sol_invoke_signed_c reads them as they are). */
typedef struct {
  SolPubkey *key;
  uint64_t *lamports;
  uint64_t data_len;
  uint8_t *data;
  SolPubkey *owner;
  uint64_t rent_epoch;
  bool is_signer;
  bool is_writable;
  bool executable;
} SolAccountInfo;

typedef struct {
  SolPubkey *pubkey;
  bool is_writable;
  bool is_signer;
} SolAccountMeta;

typedef struct {
  SolPubkey *program_id;
  SolAccountMeta *accounts;
  uint64_t account_len;
  uint8_t *data;
  uint64_t data_len;
} SolInstruction;

typedef struct { const uint8_t *addr; uint64_t len; } SolSignerSeed;
typedef struct { const SolSignerSeed *addr; uint64_t len; } SolSignerSeeds;

typedef struct {
  uint64_t slot;
  int64_t epoch_start_timestamp;
  uint64_t epoch;
  uint64_t leader_schedule_epoch;
  int64_t unix_timestamp;
} SolClock;

void sol_log_(const char *message, uint64_t len);
void sol_log_64_(uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e);
void sol_log_pubkey(const SolPubkey *key);
uint64_t sol_invoke_signed_c(const SolInstruction *ix, const SolAccountInfo *infos, int infos_len,
                             const SolSignerSeeds *seeds, int seeds_len);
uint64_t sol_try_find_program_address(const SolSignerSeed *seeds, int seeds_len, const SolPubkey *program_id,
                                      SolPubkey *address, uint8_t *bump);
uint64_t sol_create_program_address(const SolSignerSeed *seeds, int seeds_len, const SolPubkey *program_id,
                                    SolPubkey *address);
uint64_t sol_get_clock_sysvar(void *clock);
void sol_memcpy_(void *dst, const void *src, uint64_t n);
void sol_memset_(void *dst, uint8_t value, uint64_t n);

#define sol_log(literal) sol_log_(literal, sizeof(literal) - 1)

/* The 32 KiB heap is zeroed and unused by anything else here, so fixed regions of it serve as scratch space
 * for structures too large for clang-14's 512-byte BPF stack. */
#define HEAP_START ((uint8_t *)0x300000000ULL)
#define MAX_ACCOUNTS 32
#define MAX_PERMITTED_DATA_INCREASE 10240

typedef struct {
  SolAccountInfo *accounts; /* MAX_ACCOUNTS entries, on the heap */
  uint64_t account_count;
  const uint8_t *data;
  uint64_t data_len;
  const SolPubkey *program_id;
} SolParameters;

/* The loader's aligned serialization: u64 count; per account a dup marker or the account; then data, program id. */
static bool sol_deserialize(const uint8_t *input, SolParameters *params) {
  uint64_t count = *(const uint64_t *)input;
  input += 8;
  if (count > MAX_ACCOUNTS) return false;
  SolAccountInfo *ka = (SolAccountInfo *)HEAP_START;
  for (uint64_t i = 0; i < count; i++) {
    uint8_t dup = *input++;
    if (dup != 0xff) {
      input += 7;
      ka[i] = ka[dup];
      continue;
    }
    ka[i].is_signer = *input++ != 0;
    ka[i].is_writable = *input++ != 0;
    ka[i].executable = *input++ != 0;
    input += 4;
    ka[i].key = (SolPubkey *)input;
    input += 32;
    ka[i].owner = (SolPubkey *)input;
    input += 32;
    ka[i].lamports = (uint64_t *)input;
    input += 8;
    ka[i].data_len = *(const uint64_t *)input;
    input += 8;
    ka[i].data = (uint8_t *)input;
    input += ka[i].data_len + MAX_PERMITTED_DATA_INCREASE;
    input = (const uint8_t *)(((uint64_t)input + 7) & ~7ULL);
    ka[i].rent_epoch = *(const uint64_t *)input;
    input += 8;
  }
  params->accounts = ka;
  params->account_count = count;
  params->data_len = *(const uint64_t *)input;
  input += 8;
  params->data = input;
  input += params->data_len;
  params->program_id = (const SolPubkey *)input;
  return true;
}

/* clang lowers struct copies and zeroing to these; defined here they link as ordinary bpf-to-bpf calls. */
void *memcpy(void *dst, const void *src, uint64_t n) {
  sol_memcpy_(dst, src, n);
  return dst;
}
void *memset(void *dst, int value, uint64_t n) {
  sol_memset_(dst, (uint8_t)value, n);
  return dst;
}
