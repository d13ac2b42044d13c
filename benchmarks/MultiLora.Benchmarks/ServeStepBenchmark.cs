using System.Diagnostics;
using System.Globalization;
using MultiLora.Data.Images;
using MultiLora.Language;
using MultiLora.Llava.BuiltIn;
using MultiLora.Llava.Sessions;
using MultiLora.Lora.Adapters;
using MultiLora.Serve.Engine;
using static TorchSharp.torch;

namespace MultiLora.Benchmarks;

/// <summary>
/// The serve scheduler's two kinds of work, timed apart from HTTP: a prefill (one prompt alone, with and without an
/// image) and a batch decode step at 1 and at N rows (rows of different lengths, adapters base / a1 / a2 in turn),
/// in the batch-invariant mode the server runs by default (per-row attention and per-row matrix products), in the fast
/// one, and with one of the two per-row parts alone, so that each part's price shows. What the load test's ratio at
/// concurrency 16 is made of: (prefill + steps x step(1)) against steps x step(N) / N when the prefill thread has a
/// core of its own, (prefill + steps x step(N) / N) when prompts and steps share one.
/// Usage: serve-step [--rows 16] [--repeat 300] [--threads 1] [--adapters base,a1,a2] [--mode 0-3: one mode, N rows only]
/// </summary>
static class ServeStepBenchmark
{
    public static int Run(string[] args)
    {
        string Option(string name, string fallback)
        {
            int at = Array.IndexOf(args, name);
            return at >= 0 && at + 1 < args.Length ? args[at + 1] : fallback;
        }
        int rows = int.Parse(Option("--rows", "16"), CultureInfo.InvariantCulture);
        int repeat = int.Parse(Option("--repeat", "300"), CultureInfo.InvariantCulture);
        set_num_threads(int.Parse(Option("--threads", "1"), CultureInfo.InvariantCulture));
        string root = Directory.CreateTempSubdirectory("multilora-serve-step-").FullName;
        try
        {
            string model = BuiltInModel.Write(Path.Combine(root, "model"), new TinyLlavaPreset(), seed: 1);
            string a1 = ServeBenchmark.RandomAdapter(model, Path.Combine(root, "a1"), seed: 11);
            string a2 = ServeBenchmark.RandomAdapter(model, Path.Combine(root, "a2"), seed: 12);
            using var session = LlavaSession.Open(new SessionOptions(new ModelSource(model)));
            session.LoadAdapter("a1", a1);
            session.LoadAdapter("a2", a2);
            LoraInjector.WrapLinears(session.Model, [LoraConfig.DefaultPrefix, "lm_head"]);
            var modules = LoraInjector.LoraModules(session.Model).Select(m => m.Module).ToList();
            int layers = session.Model.Config.Text.NumLayers;
            string?[] adapters = Option("--adapters", "base,a1,a2").Split(',').Select(a => a == "base" ? null : a).ToArray();
            var image = new RgbImage(32, 32, Enumerable.Range(0, 32 * 32 * 3).Select(i => (byte)(i * 7)).ToArray());
            using var noGrad = no_grad();

            int[] Prompt(int n, bool withImage)
            {
                var ids = Enumerable.Range(0, 30 + n % 23).Select(i => 3 + (i * 31 + n * 17) % 390).ToList();
                if (withImage) ids.InsertRange(5, Enumerable.Repeat(TinyLlavaPreset.ImageTokenId, session.ImageTokens));
                return ids.ToArray();
            }

            KvCache Prefill(int n, bool withImage)
            {
                var cache = new KvCache(layers);
                using var scope = NewDisposeScope();
                using var routing = new RowAdapters([adapters[n % adapters.Length]], session.Device);
                LoraInjector.SetRowAdapters(modules, routing);
                var prompt = Prompt(n, withImage);
                var pixels = withImage ? session.Pixels([image]) : null;
                var ids = tensor(prompt.Select(i => (long)i).ToArray(), [1, prompt.Length]);
                session.Model.Forward(ids, pixels, null, null, cache).select(1, -1).argmax(-1).item<long>();
                LoraInjector.SetRowAdapters(modules, null);
                return cache;
            }

            double Time(Action work)
            {
                for (int i = 0; i < 20; i++) work();
                var clock = Stopwatch.StartNew();
                for (int i = 0; i < repeat; i++) work();
                return clock.Elapsed.TotalMilliseconds / repeat;
            }

            Console.WriteLine($"built-in small model, {Environment.ProcessorCount} cores, {get_num_threads()} libtorch thread(s), {repeat} repeats");
            double text = Time(() => Prefill(1, false).Dispose());
            double withImage = Time(() => Prefill(2, true).Dispose());
            double pixels = Time(() => session.Pixels([image])!.Dispose());
            Console.WriteLine($"prefill: text {text:0.000} ms, with image {withImage:0.000} ms (of which preprocessing {pixels:0.000} ms)");

            var combos = new[] { (true, true), (false, false), (true, false), (false, true) };   // (per-row attention, per-row linears)
            int only = int.Parse(Option("--mode", "-1"), CultureInfo.InvariantCulture);
            foreach (var (perRowAttention, rowLinear) in only >= 0 ? [combos[only]] : combos)
            {
                // 32-step replies: a fresh batch of prefilled rows every 32 steps (prefills not timed), as lengths stay in the load test
                double Step(int b)
                {
                    var clock = new Stopwatch();
                    var counter = new OpCounter();
                    long handles = 0;
                    int steps = 0;
                    for (int round = 0; steps < repeat + 32; round++)
                    {
                        using var cache = new BatchKvCache(layers) { PerRow = perRowAttention };
                        var prefills = Enumerable.Range(0, b).Select(n => Prefill(n + round, (n + round) % 4 != 3)).ToList();
                        cache.Join(prefills);
                        foreach (var p in prefills) p.Dispose();
                        var lengths = cache.Lengths.ToArray();
                        for (int step = 0; step < 31; step++, steps++)
                        {
                            if (steps >= 32) clock.Start();   // the first round warms up
                            long before = counter.Read().TensorHandles;
                            using var scope = NewDisposeScope();
                            cache.BeginStep();
                            var ids = tensor(Enumerable.Range(0, b).Select(r => (long)(3 + (r + step) % 390)).ToArray(), [b, 1]);
                            var positions = tensor(lengths.Select(l => l + step).ToArray(), [b, 1]);
                            var mask = perRowAttention ? null : cache.StepMask(session.Device);
                            using var routing = new RowAdapters(Enumerable.Range(0, b).Select(r => adapters[(r + round) % adapters.Length]).ToList(), session.Device, computePerRow: rowLinear);
                            LoraInjector.SetRowAdapters(modules, routing);
                            var logits = session.Model.ForwardTokens(ids, positions, mask, cache);
                            LoraInjector.SetRowAdapters(modules, null);
                            cache.EndStep();
                            logits.select(1, -1).argmax(-1).cpu().data<long>().ToArray();
                            clock.Stop();
                            if (steps == 40) handles = counter.Read().TensorHandles - before;
                        }
                    }
                    Console.WriteLine($"  {b} rows: {handles} tensor handles per step");
                    return clock.Elapsed.TotalMilliseconds / (steps - 32);
                }
                double one = only >= 0 ? 1 : Step(1), many = Step(rows);
                string mode = (perRowAttention, rowLinear) switch { (true, true) => "batch-invariant", (false, false) => "fast", (true, false) => "per-row attention only", _ => "per-row linears only" };
                Console.WriteLine($"{mode} decode step: 1 row {one:0.000} ms, {rows} rows {many:0.000} ms " +
                    $"({many / rows:0.000} ms per row, {one * rows / many:0.00}x rows per second)");
                // a 32-token reply: one prefill (3 in 4 with an image) and 31 steps; the prefill thread runs the prompts
                // beside the steps where a core is free, and between them on one core
                double prefill = 0.75 * withImage + 0.25 * text;
                Console.WriteLine($"  32-token replies, model-thread-bound: ratio at {rows} = {(prefill + 31 * one) / (31 * many / rows):0.00}x " +
                                  $"with prompts on a core of their own, {(prefill + 31 * one) / (prefill + 31 * many / rows):0.00}x on one core");
            }
            return 0;
        }
        finally
        {
            try { Directory.Delete(root, recursive: true); } catch (IOException) { }
        }
    }
}
