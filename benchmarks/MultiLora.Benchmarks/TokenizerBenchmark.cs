using System.Diagnostics;
using System.Text;
using MultiLora.Data.Text;

namespace MultiLora.Benchmarks;

/// <summary>
/// Encoding speed per token of the tokenizer.json path against the SentencePiece (tokenizer.model) path,
/// in one process on the same texts. Baseline: the built-in tokenizer's tokenizer.model through
/// Microsoft.ML.Tokenizers' SentencePiece BPE (HfTokenizer); then the same tokenizer read from its tokenizer.json
/// (same vocabulary and ids); then any hub tokenizer folders given (e.g. tests/fixtures/hub extracted) on the
/// same texts, compared per token. Texts: prompt-sized chunks (~400 chars) of English prose, code, numbers,
/// CJK and emoji. The tokenizers take turns pass by pass and each one's fastest pass counts, so a busy machine
/// skews the ratios less.
/// Usage: tokenizer [--rounds 7] [--chars 400000] [--hub DIR]...
/// </summary>
static class TokenizerBenchmark
{
    public static int Run(string[] args)
    {
        int rounds = 7, chars = 400_000;
        var hubs = new List<string>();
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--rounds": rounds = int.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture); break;
                case "--chars": chars = int.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture); break;
                case "--hub": hubs.Add(args[++i]); break;
                default: throw new ArgumentException($"unknown argument '{args[i]}' (expected --rounds N, --chars N, --hub DIR)");
            }
        }
        var texts = Corpus(chars);
        var builtIn = Directory.CreateTempSubdirectory("multilora-bench-tok-").FullName;
        try
        {
            Llava.BuiltIn.BuiltInModel.WriteTokenizerFiles(builtIn);
            var runs = new List<(string Name, IOffsetTokenizer Tokenizer)>
            {
                ("tokenizer.model (SentencePiece, baseline)", HfTokenizer.Load(builtIn)),
                ("tokenizer.json, same tokenizer", TokenizerLoader.Load(builtIn)),
            };
            foreach (var hub in hubs) runs.Add(($"tokenizer.json {Path.GetFileName(Path.TrimEndingDirectorySeparator(hub))}", TokenizerLoader.Load(hub)));

            Console.WriteLine($"{texts.Count} texts, {texts.Sum(t => t.Length):N0} chars; tokenizers take turns, {rounds} passes each after a warm-up; best pass counts (the machine may be shared)");
            var tokens = runs.Select(r => texts.Sum(t => (long)r.Tokenizer.EncodeWithSpans(t, false).Length)).ToArray(); // warm-up: JIT, caches
            var best = runs.Select(_ => double.MaxValue).ToArray();
            for (var round = 0; round < rounds; round++)
                for (var k = 0; k < runs.Count; k++)
                {
                    var clock = Stopwatch.StartNew();
                    foreach (var t in texts) runs[k].Tokenizer.EncodeWithSpans(t, false);
                    best[k] = Math.Min(best[k], clock.Elapsed.TotalNanoseconds);
                }
            var totalChars = texts.Sum(t => (long)t.Length);
            Console.WriteLine($"{"tokenizer",-45} {"tokens",10} {"tokens/s",12} {"ns/token",9} {"vs base",8} {"ns/char",8} {"vs base",8}");
            for (var k = 0; k < runs.Count; k++)
            {
                double perToken = best[k] / tokens[k], perChar = best[k] / totalChars;
                double basePerToken = best[0] / tokens[0], basePerChar = best[0] / totalChars;
                Console.WriteLine($"{runs[k].Name,-45} {tokens[k],10:N0} {tokens[k] / (best[k] / 1e9),12:N0} {perToken,9:F0} {basePerToken / perToken,7:F2}x {perChar,8:F0} {basePerChar / perChar,7:F2}x");
            }
            return 0;
        }
        finally { Directory.Delete(builtIn, true); }
    }

    static readonly string[] Words = ("the of and to in a is that for it as was with be by on not he I this are or his from at which but have an they you " +
        "were her she there one all we their can has been if more when will would who so no image shows red blue square circle colour model token " +
        "training assistant user question answer describe picture left right above below large small").Split(' ');
    static readonly string[] Extras = ["東京タワーは高い。", "你好，世界！", "🙂 🚀", "café naïve", "x = [i**2 for i in range(10)]\n", "if (a && b) { return 1; }\n", "3.14159", "2024-01-31", "\t", "\n\n"];

    /// <summary>Deterministic prompt-sized texts.</summary>
    static List<string> Corpus(int chars)
    {
        var random = new Random(14);
        var texts = new List<string>();
        var total = 0;
        while (total < chars)
        {
            var s = new StringBuilder();
            while (s.Length < 400)
            {
                s.Append(random.Next(12) == 0 ? Extras[random.Next(Extras.Length)] : Words[random.Next(Words.Length)]);
                s.Append(random.Next(10) == 0 ? ". " : random.Next(15) == 0 ? ", " : " ");
                if (random.Next(20) == 0) s.Append(random.Next(100_000));
            }
            texts.Add(s.ToString());
            total += s.Length;
        }
        return texts;
    }
}
