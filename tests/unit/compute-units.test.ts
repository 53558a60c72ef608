import { strict as assert } from "node:assert";
import { type CalibrationTable, type ComputeUnitConfig, exhausted, kindOf, limitFor, observe, ranOutOfComputeUnits } from "../../keeper/execution/compute-units";

const cfg: ComputeUnitConfig = { margin: 1.2, minUnits: 50_000, maxUnits: 1_400_000, defaultUnits: 400_000, window: 3 };
const empty: CalibrationTable = new Map();

describe("compute-unit calibration", () => {
  it("names each kind by what changes its compute", () => {
    const table: [Parameters<typeof kindOf>[0], string][] = [
      [{ change: "increase", purpose: "hedge", wrapSol: false, swap: false }, "increase"],
      [{ change: "increase", purpose: "hedge", wrapSol: true, swap: false }, "increase+wrap"],
      [{ change: "increase", purpose: "hedge", wrapSol: false, swap: true }, "increase+swap"],
      [{ change: "increase", purpose: "collateral", wrapSol: true, swap: false }, "deposit+wrap"],
      [{ change: "decrease", purpose: "hedge", wrapSol: false, swap: false }, "decrease"],
      [{ change: "decrease", purpose: "collateral", wrapSol: false, swap: false }, "withdraw"],
    ];
    for (const [shape, kind] of table) assert.equal(kindOf(shape), kind);
  });

  const steps: { name: string; table: () => CalibrationTable; kind: string; units: number; calibrated: boolean }[] = [
    { name: "an uncalibrated kind gets the default", table: () => empty, kind: "increase", units: 400_000, calibrated: false },
    { name: "a simulated kind gets its units times the margin, rounded up", table: () => observe(empty, "increase", 61_001, "simulated", cfg), kind: "increase", units: 73_202, calibrated: true },
    { name: "another kind's calibration does not apply", table: () => observe(empty, "increase", 61_000, "simulated", cfg), kind: "decrease", units: 400_000, calibrated: false },
    { name: "the minimum holds for a cheap kind", table: () => observe(empty, "withdraw", 1_000, "simulated", cfg), kind: "withdraw", units: 50_000, calibrated: true },
    { name: "the policy's cap holds for an expensive kind", table: () => observe(empty, "increase", 1_300_000, "landed", cfg), kind: "increase", units: 1_400_000, calibrated: true },
    {
      name: "the largest of the recent measurements decides",
      table: () => [90_000, 60_000, 70_000].reduce((t, u) => observe(t, "decrease", u, "landed", cfg), empty),
      kind: "decrease",
      units: 108_000,
      calibrated: true,
    },
    {
      name: "a measurement past the window drops out",
      table: () => [90_000, 60_000, 70_000, 65_000].reduce((t, u) => observe(t, "decrease", u, "landed", cfg), empty),
      kind: "decrease",
      units: 84_000,
      calibrated: true,
    },
    { name: "a zero or non-finite measurement is ignored", table: () => observe(observe(empty, "increase", 0, "landed", cfg), "increase", Number.NaN, "landed", cfg), kind: "increase", units: 400_000, calibrated: false },
    {
      name: "running out at a limit asks for the margin on top of it",
      table: () => exhausted(observe(empty, "increase+wrap", 80_000, "simulated", cfg), "increase+wrap", 96_000, cfg),
      kind: "increase+wrap",
      units: 115_200,
      calibrated: true,
    },
    { name: "running out on the default raises an uncalibrated kind above it", table: () => exhausted(empty, "deposit", 400_000, cfg), kind: "deposit", units: 480_000, calibrated: true },
  ];
  for (const s of steps) {
    it(s.name, () => {
      assert.deepEqual(limitFor(s.table(), s.kind, cfg), { units: s.units, calibrated: s.calibrated });
    });
  }
  it("the address-search allowance goes on top of a calibrated limit, not on the default", () => {
    const withAllowance = { ...cfg, searchAllowanceUnits: 24_000 };
    assert.deepEqual(limitFor(observe(empty, "increase", 61_001, "simulated", cfg), "increase", withAllowance), { units: 97_202, calibrated: true });
    assert.deepEqual(limitFor(empty, "increase", withAllowance), { units: 400_000, calibrated: false });
  });

  it("observe returns a new table and leaves the old one alone", () => {
    const before = observe(empty, "increase", 50_000, "simulated", cfg);
    const after = observe(before, "increase", 90_000, "landed", cfg);
    assert.deepEqual(before.get("increase"), { samples: [50_000], source: "simulated" });
    assert.deepEqual(after.get("increase"), { samples: [50_000, 90_000], source: "landed" });
  });

  const errors: { name: string; err: unknown; logs?: string[]; out: boolean }[] = [
    { name: "the runtime's instruction error", err: { InstructionError: [3, "ComputationalBudgetExceeded"] }, out: true },
    { name: "the meter in the logs", err: { InstructionError: [3, "ProgramFailedToComplete"] }, logs: ["Program X consumed 96000 of 96000 compute units", "Program X failed: exceeded CUs meter at BPF instruction #123"], out: true },
    { name: "a program's custom error", err: { InstructionError: [3, { Custom: 6001 }] }, logs: ["Program X failed: custom program error: 0x1771"], out: false },
    { name: "no error", err: null, out: false },
    { name: "an insufficient-funds error", err: "InsufficientFundsForFee", out: false },
  ];
  for (const e of errors) {
    it(`ran out of compute units: ${e.name} -> ${e.out}`, () => {
      assert.equal(ranOutOfComputeUnits(e.err, e.logs), e.out);
    });
  }
});
