using System.IO.Compression;
using System.Text;

namespace MultiLora.Data.Text.Hub.Unicode;

/// <summary>
/// NFC / NFD / NFKC / NFKD in managed code. MultiLora runs with InvariantGlobalization, where .NET leaves
/// non-ASCII text unnormalized, so the tables (from the Unicode Character Database via
/// generate_normalization_data.py) ship with it. The algorithm is UAX #15's: full decomposition (Hangul
/// syllables algorithmically), canonical ordering of combining marks, then canonical composition.
/// </summary>
public static class UnicodeNormalization
{
    sealed record Tables(Dictionary<int, byte> Ccc, Dictionary<int, int[]> Canonical, Dictionary<int, int[]> Compatibility,
                         Dictionary<long, int> Compose, HashSet<int> ComposesWithPrevious, HashSet<int> NotRecomposed);

    static readonly Lazy<Tables> Data = new(Load);

    const int SBase = 0xAC00, LBase = 0x1100, VBase = 0x1161, TBase = 0x11A7, LCount = 19, VCount = 21, TCount = 28;
    const int NCount = VCount * TCount, SCount = LCount * NCount;

    static Tables Load()
    {
        var assembly = typeof(UnicodeNormalization).Assembly;
        var name = assembly.GetManifestResourceNames().Single(n => n.EndsWith("normalization_data.txt.gz", StringComparison.Ordinal));
        using var reader = new StreamReader(new GZipStream(assembly.GetManifestResourceStream(name)!, CompressionMode.Decompress));
        var t = new Tables([], [], [], [], [], []);
        for (var line = reader.ReadLine(); line is not null; line = reader.ReadLine())
        {
            if (line.StartsWith('#')) continue;
            var f = line.Split(';');
            var cp = Convert.ToInt32(f[0], 16);
            var ccc = byte.Parse(f[1], System.Globalization.CultureInfo.InvariantCulture);
            if (ccc != 0) t.Ccc[cp] = ccc;
            if (f[2] == "-") continue;
            var parts = f[3].Split(' ').Select(p => Convert.ToInt32(p, 16)).ToArray();
            (f[2] == "c" ? t.Canonical : t.Compatibility)[cp] = parts;
            if (f[2] == "c" && f[4] == "x") t.NotRecomposed.Add(cp);
            if (f[2] == "c" && f[4] != "x" && parts.Length == 2)
            {
                t.Compose[Pair(parts[0], parts[1])] = cp;
                t.ComposesWithPrevious.Add(parts[1]);
            }
        }
        for (var v = VBase; v < VBase + VCount; v++) t.ComposesWithPrevious.Add(v);
        for (var x = TBase + 1; x < TBase + TCount; x++) t.ComposesWithPrevious.Add(x);
        return t;
    }

    static long Pair(int a, int b) => ((long)a << 21) | (uint)b;

    static bool Composes(NormalizationForm form) => form is NormalizationForm.FormC or NormalizationForm.FormKC;
    static bool Compatible(NormalizationForm form) => form is NormalizationForm.FormKC or NormalizationForm.FormKD;

    /// <summary>
    /// True when normalizing cannot change the text (UAX #15's quick check, answering "maybe" as no): no combining
    /// mark, no char the form decomposes (for NFC/NFKC: precomposed letters such as "é" are already composed and
    /// pass; singletons and composition exclusions do not), no char that could compose with the one before it.
    /// </summary>
    public static bool IsNormalized(string text, NormalizationForm form)
    {
        if (!text.AsSpan().ContainsAnyExceptInRange('\0', '\u009f')) return true; // nothing below U+00A0 decomposes or combines
        var t = Data.Value;
        var composes = Composes(form);
        foreach (var r in text.EnumerateRunes())
        {
            var cp = r.Value;
            if (cp < 0xA0) continue;
            if (t.Ccc.ContainsKey(cp)) return false;
            if (Compatible(form) && t.Compatibility.ContainsKey(cp)) return false;
            if (composes)
            {
                if (t.NotRecomposed.Contains(cp) || t.ComposesWithPrevious.Contains(cp)) return false;
            }
            else if (t.Canonical.ContainsKey(cp) || cp is >= SBase and < SBase + SCount) return false;
        }
        return true;
    }

    public static string Normalize(string text, NormalizationForm form)
    {
        if (IsNormalized(text, form)) return text;
        var t = Data.Value;
        var cps = new List<int>(text.Length);
        foreach (var r in text.EnumerateRunes()) Decompose(r.Value, Compatible(form), cps, t);
        Reorder(cps, t);
        if (Composes(form)) Compose(cps, t);
        var s = new StringBuilder(cps.Count);
        foreach (var cp in cps) s.Append(char.ConvertFromUtf32(cp));
        return s.ToString();
    }

    static void Decompose(int cp, bool compatibility, List<int> into, Tables t)
    {
        if (cp is >= SBase and < SBase + SCount)
        {
            var s = cp - SBase;
            into.Add(LBase + s / NCount);
            into.Add(VBase + s % NCount / TCount);
            if (s % TCount != 0) into.Add(TBase + s % TCount);
            return;
        }
        if (t.Canonical.TryGetValue(cp, out var parts) || compatibility && t.Compatibility.TryGetValue(cp, out parts))
            foreach (var p in parts) Decompose(p, compatibility, into, t);
        else into.Add(cp);
    }

    static int Ccc(int cp, Tables t) => t.Ccc.TryGetValue(cp, out var c) ? c : 0;

    /// <summary>Canonical ordering: within each run of combining marks, a stable sort by combining class.</summary>
    static void Reorder(List<int> cps, Tables t)
    {
        for (var i = 1; i < cps.Count; i++)
        {
            var c = Ccc(cps[i], t);
            if (c == 0) continue;
            for (var j = i; j > 0; j--)
            {
                var prev = Ccc(cps[j - 1], t);
                if (prev == 0 || prev <= c) break;
                (cps[j - 1], cps[j]) = (cps[j], cps[j - 1]);
            }
        }
    }

    static void Compose(List<int> cps, Tables t)
    {
        var result = new List<int>(cps.Count);
        var starter = -1;
        var lastClass = 0;
        foreach (var cp in cps)
        {
            var cc = Ccc(cp, t);
            if (starter >= 0)
            {
                var adjacent = result.Count - 1 == starter;
                var blocked = !adjacent && (lastClass == 0 || lastClass >= cc);
                if (!blocked && TryCompose(result[starter], cp, t, out var composite))
                {
                    result[starter] = composite;
                    continue;
                }
            }
            if (cc == 0) starter = result.Count;
            lastClass = cc;
            result.Add(cp);
        }
        cps.Clear();
        cps.AddRange(result);
    }

    static bool TryCompose(int a, int b, Tables t, out int composite)
    {
        if (a is >= LBase and < LBase + LCount && b is >= VBase and < VBase + VCount)
        {
            composite = SBase + ((a - LBase) * VCount + (b - VBase)) * TCount;
            return true;
        }
        if (a is >= SBase and < SBase + SCount && (a - SBase) % TCount == 0 && b is > TBase and < TBase + TCount)
        {
            composite = a + (b - TBase);
            return true;
        }
        return t.Compose.TryGetValue(Pair(a, b), out composite);
    }
}
