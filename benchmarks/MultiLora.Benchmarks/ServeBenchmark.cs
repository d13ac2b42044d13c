using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using MultiLora.Data.Mixing;
using MultiLora.Data.Synthetic;
using MultiLora.Llava.BuiltIn;
using MultiLora.Llava.Checkpoints;
using MultiLora.Llava.Sessions;
using MultiLora.Lora.Adapters;
using MultiLora.Lora.Peft;
using MultiLora.Serve;
using MultiLora.Serve.Engine;
using static TorchSharp.torch;

namespace MultiLora.Benchmarks;

/// <summary>
/// Load test of `multilora serve`: the server runs in this process on 127.0.0.1 (a free port) over the built-in small
/// LLaVA with fresh weights (or --model DIR) and two LoRA adapters with random weights; at each concurrency level N,
/// N clients send streaming chat requests back to back for the given seconds (models base / a1 / a2 in turn, three in
/// four with a synthetic 32 px image, greedy, ignore_eos so every reply is max-tokens long). Reported per level:
/// requests, failures, latency and time to first token (p50, p99), output tokens/s over the level's wall time, and
/// its ratio to concurrency 1; plus the load average, since the machine may be shared.
/// Usage: serve [--seconds 60] [--levels 1,4,16,64] [--max-tokens 32] [--max-batch 64] [--fast-batching] [--threads 1] [--model DIR]
/// (--threads: libtorch's intra-op threads, 1 by default here: the small model's operations are too small to split, and
/// on a machine shared with other work idle OpenMP threads spinning for the CPU slow every operation down).
/// </summary>
static class ServeBenchmark
{
    static readonly string[] Questions =
    [
        "What color is the shape?", "How many shapes are there?", "Describe the picture.", "Is there a circle in the image?",
        "What is in the top left corner?", "Which shape is the largest?",
    ];

    public static int Run(string[] args)
    {
        string Option(string name, string fallback)
        {
            int at = Array.IndexOf(args, name);
            return at >= 0 && at + 1 < args.Length ? args[at + 1] : fallback;
        }
        int seconds = int.Parse(Option("--seconds", "60"), CultureInfo.InvariantCulture);
        int[] levels = Option("--levels", "1,4,16,64").Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray();
        int maxTokens = int.Parse(Option("--max-tokens", "32"), CultureInfo.InvariantCulture);
        int maxBatch = int.Parse(Option("--max-batch", "64"), CultureInfo.InvariantCulture);
        bool fast = args.Contains("--fast-batching");
        int threads = int.Parse(Option("--threads", "1"), CultureInfo.InvariantCulture);
        set_num_threads(threads);
        string root = Directory.CreateTempSubdirectory("multilora-serve-bench-").FullName;
        try
        {
            string model = args.Contains("--model") ? Option("--model", "") : BuiltInModel.Write(Path.Combine(root, "model"), new TinyLlavaPreset(), seed: 1);
            string a1 = RandomAdapter(model, Path.Combine(root, "a1"), seed: 11);
            string a2 = RandomAdapter(model, Path.Combine(root, "a2"), seed: 12);
            var images = Images(8);
            using var session = LlavaSession.Open(new SessionOptions(new ModelSource(model)));
            var options = new ServeOptions(Port: 0, HandleSignals: false,
                Scheduler: new SchedulerOptions(MaxBatch: maxBatch, MaxQueue: 4096, BatchInvariant: !fast));
            var host = ServeHost.StartAsync(session, "base", options, [("a1", a1), ("a2", a2)]).GetAwaiter().GetResult();
            try
            {
                using var http = new HttpClient { BaseAddress = host.BaseAddress, Timeout = TimeSpan.FromMinutes(10) };
                Console.WriteLine($"serving {model} + adapters a1, a2 at {host.BaseAddress} ({(fast ? "fast" : "batch-invariant")} batching, max batch {maxBatch}); " +
                                  $"{seconds} s per level, {maxTokens} tokens per reply; {Environment.ProcessorCount} cores, {threads} libtorch thread(s)");
                RunLevel(http, 2, 5, maxTokens, images);   // warm-up: first calls into libtorch, JIT
                var results = new List<LevelResult>();
                var stats = host.Scheduler.Stats;
                foreach (var level in levels)
                {
                    var (prefills, prefill, decode, steps) = (stats.Prefills, stats.PrefillTime, stats.DecodeTime, stats.Steps);
                    var forward = stats.ForwardTime;
                    var r = RunLevel(http, level, seconds, maxTokens, images);
                    results.Add(r);
                    Console.WriteLine(r.Line(results[0].TokensPerSecond));
                    Console.WriteLine($"    process: {Environment.WorkingSet / (1 << 20)} MiB resident, {GC.GetTotalMemory(false) / (1 << 20)} MiB managed, {GC.CollectionCount(0)}/{GC.CollectionCount(1)}/{GC.CollectionCount(2)} collections");
                    // where the time went at this level: prompts (on the prefill thread, and on the model thread when they back
                    // up), batched decode steps on the model thread
                    long n = stats.Prefills - prefills, k = stats.Steps - steps;
                    var p = stats.PrefillTime - prefill;
                    var d = stats.DecodeTime - decode;
                    var f = stats.ForwardTime - forward;
                    Console.WriteLine($"    prompts: {n} prefills {p.TotalSeconds:0.0} s ({p.TotalMilliseconds / Math.Max(1, n):0.0} ms each); " +
                                      $"model thread: {k} decode steps {d.TotalSeconds:0.0} s ({d.TotalMilliseconds / Math.Max(1, k):0.0} ms each, {r.TokensPerSecond * r.WallSeconds / Math.Max(1, k):0.0} rows per step): " +
                                      $"forward {f.TotalSeconds:0.0} s, the rest (picks, text, streaming) {(d - f).TotalSeconds:0.0} s");
                }
                Console.WriteLine($"peak batch {host.Scheduler.Stats.PeakBatch}, peak adapters in one step {host.Scheduler.Stats.PeakAdaptersInStep}, decode steps {host.Scheduler.Stats.Steps}");
                Write(results, fast, seconds, maxTokens, maxBatch, threads);
                return results.Sum(r => r.Failed) == 0 ? 0 : 1;
            }
            finally
            {
                host.DisposeAsync().AsTask().GetAwaiter().GetResult();
            }
        }
        finally
        {
            try { Directory.Delete(root, true); } catch (IOException) { }
        }
    }

    sealed record Sample(double Latency, double Ttft, int Tokens, bool Ok);

    sealed record LevelResult(int Concurrency, int Requests, int Failed, double P50, double P99, double TtftP50, double TtftP99,
        double TokensPerSecond, double WallSeconds, string LoadBefore, string LoadAfter)
    {
        public string Line(double baseline) => string.Create(CultureInfo.InvariantCulture,
            $"concurrency {Concurrency,2}: {Requests} requests, {Failed} failed, latency p50 {P50:0.000} s p99 {P99:0.000} s, TTFT p50 {TtftP50:0.000} s p99 {TtftP99:0.000} s, " +
            $"{TokensPerSecond:0.0} output tokens/s ({TokensPerSecond / baseline:0.00}x concurrency {1}), load average {LoadBefore} -> {LoadAfter}");
    }

    static LevelResult RunLevel(HttpClient http, int clients, int seconds, int maxTokens, string[] images)
    {
        string before = LoadAverage();
        var samples = new System.Collections.Concurrent.ConcurrentBag<Sample>();
        var clock = Stopwatch.StartNew();
        var until = TimeSpan.FromSeconds(seconds);
        var tasks = Enumerable.Range(0, clients).Select(c => Task.Run(async () =>
        {
            for (int i = 0; clock.Elapsed < until; i++)
                samples.Add(await Send(http, Body(c * 7919 + i, maxTokens, images), maxTokens));
        })).ToArray();
        Task.WaitAll(tasks);
        double wall = clock.Elapsed.TotalSeconds;
        var ok = samples.Where(s => s.Ok).ToList();
        double P(IEnumerable<double> values, double q)
        {
            var sorted = values.Order().ToList();
            return sorted.Count == 0 ? double.NaN : sorted[(int)Math.Round(q * (sorted.Count - 1))];
        }
        return new LevelResult(clients, samples.Count, samples.Count - ok.Count, P(ok.Select(s => s.Latency), 0.5), P(ok.Select(s => s.Latency), 0.99),
            P(ok.Select(s => s.Ttft), 0.5), P(ok.Select(s => s.Ttft), 0.99), ok.Sum(s => s.Tokens) / wall, wall, before, LoadAverage());
    }

    static string Body(int n, int maxTokens, string[] images)
    {
        string model = (n % 3) switch { 0 => "base", 1 => "a1", _ => "a2" };
        string question = Questions[n % Questions.Length];
        JsonNode content = n % 4 == 3
            ? question
            : new JsonArray(new JsonObject { ["type"] = "image_url", ["image_url"] = new JsonObject { ["url"] = images[n % images.Length] } },
                new JsonObject { ["type"] = "text", ["text"] = question });
        return new JsonObject
        {
            ["model"] = model,
            ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = content }),
            ["max_tokens"] = maxTokens,
            ["temperature"] = 0,
            ["ignore_eos"] = true,
            ["stream"] = true,
            ["stream_options"] = new JsonObject { ["include_usage"] = true },
        }.ToJsonString();
    }

    /// <summary>One streamed request: time to the first content piece, to [DONE], and the usage's completion tokens.</summary>
    static async Task<Sample> Send(HttpClient http, string body, int maxTokens)
    {
        var clock = Stopwatch.StartNew();
        double ttft = double.NaN;
        int tokens = 0;
        bool done = false;
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            if (!response.IsSuccessStatusCode) return new Sample(clock.Elapsed.TotalSeconds, ttft, 0, false);
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
            while (await reader.ReadLineAsync() is { } line)
            {
                if (!line.StartsWith("data: ", StringComparison.Ordinal)) continue;
                string data = line[6..];
                if (data == "[DONE]") { done = true; break; }
                var chunk = JsonNode.Parse(data)!;
                if (chunk["choices"] is JsonArray { Count: > 0 } choices && choices[0]!["delta"]?["content"] is JsonValue v
                    && v.GetValue<string>().Length > 0 && double.IsNaN(ttft))
                    ttft = clock.Elapsed.TotalSeconds;
                if (chunk["usage"] is JsonObject usage) tokens = usage["completion_tokens"]!.GetValue<int>();
            }
        }
        catch (Exception e) when (e is HttpRequestException or IOException or JsonException)
        {
            return new Sample(clock.Elapsed.TotalSeconds, ttft, 0, false);
        }
        // a reply of only whitespace or held-back bytes has no content piece: time to first token is then its end
        if (double.IsNaN(ttft)) ttft = clock.Elapsed.TotalSeconds;
        return new Sample(clock.Elapsed.TotalSeconds, ttft, tokens, done && tokens == maxTokens);
    }

    /// <summary>A LoRA adapter (r 8, alpha 16, every language-model linear) with random A and B, saved as peft does.</summary>
    internal static string RandomAdapter(string modelDir, string dir, int seed)
    {
        using var scope = NewDisposeScope();
        using var model = LlavaLoader.Load(modelDir, new LoadOptions());
        manual_seed(seed);
        var cfg = new LoraConfig { R = 8, Alpha = 16 };
        LoraInjector.Apply(model, cfg);
        using (no_grad())
            foreach (var (_, lora) in LoraInjector.LoraModules(model))
                lora.LoraB(cfg.AdapterName).weight.normal_(0, 0.05);
        Directory.CreateDirectory(dir);
        PeftAdapter.Save(dir, model, cfg);
        return dir;
    }

    /// <summary>Synthetic scenes at 32 px as data: URLs.</summary>
    static string[] Images(int count)
    {
        var random = new SeededRandom(5, "serve-bench");
        return Enumerable.Range(0, count)
            .Select(_ => "data:image/png;base64," + Convert.ToBase64String(PngEncoder.Encode(SceneRenderer.Render(SceneSampler.Sample(random), 32))))
            .ToArray();
    }

    static string LoadAverage() => File.Exists("/proc/loadavg") ? string.Join(" ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";

    static void Write(List<LevelResult> results, bool fast, int seconds, int maxTokens, int maxBatch, int threads)
    {
        Directory.CreateDirectory(Path.Combine("benchmarks", "results"));
        string file = Path.Combine("benchmarks", "results", $"serve-{(fast ? "fast" : "invariant")}.json");
        var json = new JsonObject
        {
            ["batching"] = fast ? "fast" : "batch-invariant",
            ["seconds_per_level"] = seconds,
            ["max_tokens"] = maxTokens,
            ["max_batch"] = maxBatch,
            ["torch_threads"] = threads,
            ["levels"] = new JsonArray(results.Select(r => (JsonNode)JsonSerializer.SerializeToNode(r)!).ToArray()),
        };
        File.WriteAllText(file, json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        Console.WriteLine($"written: {file}");
    }
}
