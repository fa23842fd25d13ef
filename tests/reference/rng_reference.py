#!/usr/bin/env python3
"""Pure-Python re-derivation of numpy's default generator, used to derive and
cross-check the numbers in tests/unit/test_rng.c.

It implements, from the algorithms' definitions and with plain Python ints:
  * SeedSequence(seed): mix_entropy() into a pool of 4 uint32 words, then
    generate_state(4, uint64) (numpy/random/bit_generator.pyx);
  * PCG64: 128-bit LCG with multiplier 0x2360ED051FC65DA44385DF649FCCF645,
    seeded by pcg_setseq_128_srandom_r, output XSL-RR 128/64;
  * Generator.random(), uniform(), integers() (Lemire's bounded method with the
    32-bit path and numpy's buffered upper 32-bit half).

Run it to print the tables embedded in test_rng.c (cases[], then
reject_cases[]: draws from ranges that reach the rejection loops); with
--check it also asserts that numpy (if importable) produces the same numbers.
"""
import sys

M32 = (1 << 32) - 1
M64 = (1 << 64) - 1
M128 = (1 << 128) - 1
INIT_A, MULT_A = 0x43B0D7E5, 0x931E8875
INIT_B, MULT_B = 0x8B51F9DD, 0x58F38DED
MIX_L, MIX_R = 0xCA01F9DD, 0x4973F715
PCG_MULT = 0x2360ED051FC65DA44385DF649FCCF645


def seed_words(seed):
    if seed == 0:
        return [0]
    out = []
    while seed:
        out.append(seed & M32)
        seed >>= 32
    return out


def generate_state(seed):
    """SeedSequence(seed).generate_state(4, np.uint64) as Python ints."""
    entropy = seed_words(seed)
    hc = [INIT_A]

    def hashmix(v):
        v = (v ^ hc[0]) & M32
        hc[0] = (hc[0] * MULT_A) & M32
        v = (v * hc[0]) & M32
        return v ^ (v >> 16)

    def mix(x, y):
        r = (MIX_L * x - MIX_R * y) & M32
        return r ^ (r >> 16)

    pool = [hashmix(entropy[i] if i < len(entropy) else 0) for i in range(4)]
    for s in range(4):
        for d in range(4):
            if s != d:
                pool[d] = mix(pool[d], hashmix(pool[s]))
    for s in range(4, len(entropy)):
        for d in range(4):
            pool[d] = mix(pool[d], hashmix(entropy[s]))
    words = []
    h = INIT_B
    for i in range(8):
        v = pool[i % 4] ^ h
        h = (h * MULT_B) & M32
        v = (v * h) & M32
        words.append(v ^ (v >> 16))
    return [words[2 * i] | (words[2 * i + 1] << 32) for i in range(4)]


class PCG64:
    def __init__(self, seed):
        w = generate_state(seed)
        initstate = (w[0] << 64) | w[1]
        initseq = (w[2] << 64) | w[3]
        self.inc = ((initseq << 1) | 1) & M128
        self.state = 0
        self._step()
        self.state = (self.state + initstate) & M128
        self._step()
        self.has32 = False
        self.buf32 = 0
        self.outputs = 0  # 64-bit outputs drawn

    def _step(self):
        self.state = (self.state * PCG_MULT + self.inc) & M128

    def next_u64(self):
        self.outputs += 1
        self._step()
        hi, lo = self.state >> 64, self.state & M64
        rot = hi >> 58
        x = hi ^ lo
        return ((x >> rot) | (x << ((64 - rot) & 63))) & M64

    def next_u32(self):
        if self.has32:
            self.has32 = False
            return self.buf32
        n = self.next_u64()
        self.has32 = True
        self.buf32 = n >> 32
        return n & M32

    def random(self):
        # (next_u64 >> 11) * 2**-53 is exact in a float64
        return (self.next_u64() >> 11) * (1.0 / 9007199254740992.0)

    def uniform(self, low, high):
        return low + (high - low) * self.random()

    def integers(self, low, high):
        rng = high - 1 - low
        if rng <= 0:
            return low
        if rng <= M32:
            if rng == M32:
                return low + self.next_u32()
            excl = rng + 1
            m = self.next_u32() * excl
            left = m & M32
            if left < excl:
                thr = (M32 - rng) % excl
                while left < thr:
                    m = self.next_u32() * excl
                    left = m & M32
            return low + (m >> 32)
        excl = rng + 1
        m = self.next_u64() * excl
        left = m & M64
        if left < excl:
            thr = (M64 - rng) % excl
            while left < thr:
                m = self.next_u64() * excl
                left = m & M64
        return low + (m >> 64)


SEEDS = [0, 1, 42, 123, 2**32 + 5, 2**64 - 1]


def table():
    rows = []
    for s in SEEDS:
        g = PCG64(s)
        u64 = [g.next_u64() for _ in range(3)]
        g = PCG64(s)
        dbl = [g.random() for _ in range(3)]
        g = PCG64(s)
        uni = [g.uniform(-0.05, 0.05) for _ in range(4)]
        g = PCG64(s)
        ints = [g.integers(0, 7) for _ in range(5)] + [g.integers(1, 19)] + \
               [g.integers(0, 10**12)] + [g.integers(-3, 4)]
        rows.append((s, generate_state(s), u64, dbl, uni, ints))
    return rows


# Ranges whose Lemire draws are rejected about one time in four (the threshold
# is 2**30 of 2**32, 2**62 of 2**64), so 16 draws from each take the rejection
# loops several times: the lower bound of each range and its exclusive upper one.
REJECT_SEEDS = [7, 2026]
REJECT_RANGES = [(0, 3 * 2**30), (-2**63, 2**62)]
REJECT_DRAWS = 16


def rejection_table():
    """For each seed: REJECT_DRAWS integers from each range, in order, from one
    generator. Checks that each range's draws went through the rejection loop
    (took more 64-bit outputs than they would without it)."""
    rows = []
    for s in REJECT_SEEDS:
        g = PCG64(s)
        ints = []
        for lo, hi in REJECT_RANGES:
            before = g.outputs
            ints += [g.integers(lo, hi) for _ in range(REJECT_DRAWS)]
            plain = REJECT_DRAWS // 2 if hi - lo <= 2**32 else REJECT_DRAWS
            assert g.outputs - before > plain, "seed %d range %d..%d: no rejection" % (s, lo, hi)
        rows.append((s, ints))
    return rows


def check_numpy(rows):
    import numpy as np
    for s, st, u64, dbl, uni, ints in rows:
        assert list(np.random.SeedSequence(s).generate_state(4, np.uint64)) == st, s
        bg = np.random.PCG64(s)
        assert [int(v) for v in bg.random_raw(3)] == u64, s
        assert list(np.random.default_rng(s).random(3)) == dbl, s
        assert list(np.random.default_rng(s).uniform(-0.05, 0.05, size=4)) == uni, s
        g = np.random.default_rng(s)
        got = [int(g.integers(0, 7)) for _ in range(5)] + [int(g.integers(1, 19))] + \
              [int(g.integers(0, 10**12))] + [int(g.integers(-3, 4))]
        assert got == ints, (s, got, ints)
    for s, ints in rejection_table():
        g = np.random.default_rng(s)
        got = [int(g.integers(lo, hi)) for lo, hi in REJECT_RANGES for _ in range(REJECT_DRAWS)]
        assert got == ints, (s, got, ints)
    print("numpy", np.__version__, "agrees with the pure-Python derivation", file=sys.stderr)


if __name__ == "__main__":
    rows = table()
    if "--check" in sys.argv:
        check_numpy(rows)
    for s, st, u64, dbl, uni, ints in rows:
        print("\t{%dull," % s)
        print("\t {" + ", ".join("0x%016xull" % v for v in st) + "},")
        print("\t {" + ", ".join("0x%016xull" % v for v in u64) + "},")
        print("\t {" + ", ".join(float.hex(v) for v in dbl) + "},")
        print("\t {" + ", ".join(float.hex(v) for v in uni) + "},")
        print("\t {" + ", ".join("%d" % v for v in ints) + "}},")
    print()
    for s, ints in rejection_table():
        print("\t{%d, {" % s + ", ".join("%dll" % v for v in ints) + "}},")
