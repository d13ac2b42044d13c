using MultiLora.Eval.Running;
using MultiLora.Llava.Checkpoints;
using MultiLora.Llava.Evaluation;
using MultiLora.Llava.Generation;
using MultiLora.Llava.Sessions;
using MultiLora.Tests.Common;
using MultiLora.Tests.Training;
using static TorchSharp.torch;

using Xunit.Abstractions;

namespace MultiLora.Tests.Torture;

/// <summary>Generation with the KV cache and a whole evaluation run under GC torture give the same tokens and scores as without it.</summary>
[Collection(TortureCollection.Name)]
public sealed class InferenceTortureTests(ITestOutputHelper log)
{
    static List<int[]> Generate(GenerationOptions options)
    {
        using var model = LlavaLoader.Load(Fixture.Path("model"), new LoadOptions());
        using var scope = NewDisposeScope();
        var withImage = Oracle.Ids("input_ids").Select(i => (int)i).ToArray();
        var textOnly = Oracle.Ids("text_input_ids").Select(i => (int)i).ToArray();
        // left padding, an image prompt and a text prompt in one batch: masks, positions and the cache all in play
        return LlavaGenerator.Generate(model, [textOnly[..10], withImage], Oracle.Load("pixel_values"), options);
    }

    [Theory]
    [InlineData(0.0, 1.0, 0)]     // greedy
    [InlineData(0.8, 0.9, 20)]    // temperature, top-p and top-k sampling
    public void BatchedGenerationWithKvCache_UnderGcTorture_GivesTheSameTokens(double temperature, double topP, int topK)
    {
        var options = new GenerationOptions(MaxNewTokens: 12, Temperature: temperature, TopP: topP, TopK: topK, Seed: 5);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var plain = Generate(options);
        log.WriteLine($"without torture {clock.Elapsed.TotalSeconds:0.0} s");
        var (tortured, report) = GcTorture.Run(() => Generate(options));
        log.WriteLine(report.ToString());
        Assert.Equal(plain, tortured);
        report.AssertClean($"generation (temperature {temperature})");
    }

    [Fact]
    public void EvalRun_UnderGcTorture_GivesTheSameAnswersAndScores()
    {
        using var work = new TinyTrainingWorkspace();
        (string Metrics, string Samples) Evaluate(string output)
        {
            using var session = LlavaSession.Open(new SessionOptions(new ModelSource(work.Base), Template: "llava_hf"));
            var options = new EvalRunOptions(["synth_vqa", "synth_pope", "synth_mmbench"], work.Data, Path.Combine(work.Root, output), Limit: 3, BatchSize: 4);
            var results = EvalRunner.Run(new LlavaEvalModel(session, work.Base), options);
            var metrics = string.Join("\n", results.Tasks.Select(t => t.Task + ": " + string.Join(", ", t.Metrics.OrderBy(m => m.Key, StringComparer.Ordinal).Select(m => $"{m.Key}={m.Value:R}"))));
            var samples = string.Join("\n", Directory.GetFiles(Path.Combine(work.Root, output, EvalRunOptions.SamplesFolder), "*", SearchOption.AllDirectories)
                .Order(StringComparer.Ordinal).Select(File.ReadAllText));
            return (metrics, samples);
        }
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var plain = Evaluate("eval-plain");
        log.WriteLine($"without torture {clock.Elapsed.TotalSeconds:0.0} s");
        var (tortured, report) = GcTorture.Run(() => Evaluate("eval-tortured"));
        log.WriteLine(report.ToString());
        Assert.Equal(plain.Metrics, tortured.Metrics);
        Assert.Equal(plain.Samples, tortured.Samples);
        Assert.NotEmpty(plain.Samples);
        report.AssertClean("evaluation");
    }
}
