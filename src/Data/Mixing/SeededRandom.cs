namespace MultiLora.Data.Mixing;

/// <summary>
/// A small deterministic generator (SplitMix64): the same seed and stream name give the same numbers on every
/// machine and .NET version, which System.Random does not promise. Streams keep independent uses (epoch
/// shuffles, synthetic scenes) from disturbing each other when one of them draws more numbers.
/// </summary>
public sealed class SeededRandom
{
    ulong state;

    public SeededRandom(long seed, string stream = "", long substream = 0)
    {
        state = (ulong)seed ^ Fnv1a(stream) ^ ((ulong)substream * 0xD1B54A32D192ED03UL);
        NextUInt64(); // decorrelate nearby seeds
    }

    public ulong NextUInt64()
    {
        var z = state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Uniform in [0, <paramref name="maxExclusive"/>), without modulo bias.</summary>
    public int Next(int maxExclusive)
    {
        if (maxExclusive <= 0) throw new ArgumentOutOfRangeException(nameof(maxExclusive), maxExclusive, "must be positive");
        var bound = (ulong)maxExclusive;
        var limit = ulong.MaxValue - ulong.MaxValue % bound;
        ulong r;
        do r = NextUInt64(); while (r >= limit);
        return (int)(r % bound);
    }

    public int Next(int minInclusive, int maxExclusive) => minInclusive + Next(maxExclusive - minInclusive);

    /// <summary>Uniform in [0, 1) with 53 random bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    public bool NextBool() => (NextUInt64() & 1) == 1;

    public T Pick<T>(IReadOnlyList<T> items) => items[Next(items.Count)];

    /// <summary>Fisher-Yates shuffle in place.</summary>
    public void Shuffle<T>(IList<T> items)
    {
        for (var i = items.Count - 1; i > 0; i--)
        {
            var j = Next(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }

    /// <summary>A random permutation of 0..n-1.</summary>
    public int[] Permutation(int n)
    {
        var p = new int[n];
        for (var i = 0; i < n; i++) p[i] = i;
        Shuffle(p);
        return p;
    }

    // string.GetHashCode is randomised per process; FNV-1a is stable.
    static ulong Fnv1a(string text)
    {
        var hash = 0xCBF29CE484222325UL;
        foreach (var c in text) { hash ^= c; hash *= 0x100000001B3UL; }
        return hash;
    }
}
