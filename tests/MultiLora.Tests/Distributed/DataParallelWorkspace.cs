using System.Globalization;
using System.Text.Json;
using MultiLora.Core.Safetensors;
using MultiLora.Llava.Training;
using MultiLora.Llava.Training.Recipes;
using MultiLora.Tests.Training;

namespace MultiLora.Tests.Distributed;

/// <summary>One step of a run as metrics.jsonl recorded it.</summary>
public sealed record LoggedStep(int Step, double Loss, long AllReducedBytes);

/// <summary>
/// The tiny training workspace plus what the data-parallel tests share: recipes as YAML files for launched ranks,
/// the per-step losses from metrics.jsonl, and the trainable weights a checkpoint holds.
/// </summary>
public sealed class DataParallelWorkspace : IDisposable
{
    public TinyTrainingWorkspace Work { get; } = new();
    readonly Dictionary<string, string> _twoRankRuns = [];

    /// <summary>
    /// `mpirun -n 2 multilora train` with batch 2 per rank, 10 steps, a checkpoint at step 5; run once per method and
    /// grad_accum and shared by the tests that need it. Returns the output folder.
    /// </summary>
    public string TwoRankRun(string method, int accum)
    {
        string output = $"two-{method}-{accum}";
        if (_twoRankRuns.TryGetValue(output, out var done)) return done;
        var recipe = Recipe(method, batch: 2, accum, output, saveEvery: 5);
        var job = RankLauncher.Run(RankLauncher.MpirunJob(2, ["train", "--recipe", WriteYaml(recipe, output)]), TimeSpan.FromMinutes(4));
        Assert.True(job.ExitCode == 0, job.Output);
        return _twoRankRuns[output] = recipe.OutputDir;
    }

    /// <summary>The tests' recipe: 10 steps at a learning rate that moves the weights clearly, no dropout.</summary>
    public TrainRecipe Recipe(string method, int batch, int accum, string output, int steps = 10, int saveEvery = 0)
    {
        var r = Work.Recipe(method, steps, output, saveEvery);
        r.BatchSize = batch;
        r.GradAccum = accum;
        return r;
    }

    /// <summary>The recipe as a YAML file a launched `multilora train --recipe` reads (absolute paths).</summary>
    public string WriteYaml(TrainRecipe r, string name, params string[] extraLines)
    {
        string I(double v) => v.ToString("R", CultureInfo.InvariantCulture);
        var lines = new List<string>
        {
            $"model:\n  path: {r.Model.Path}",
            $"data:\n  mixture: {r.Data.Mixture}\n  max_length: {r.Data.MaxLength}\n  aspect: {r.Data.Aspect}",
            $"method: {r.Method}",
            $"template: {r.Template}",
            $"lora:\n  rank: {r.Lora.Rank}",
            $"optim:\n  lr: {I(r.Optim.Lr)}",
            $"batch_size: {r.BatchSize}",
            $"grad_accum: {r.GradAccum}",
            $"max_steps: {r.MaxSteps}",
            $"save_every: {r.SaveEvery}",
            $"seed: {r.Seed}",
            $"dtype: {r.Dtype}",
            $"output_dir: {r.OutputDir}",
        };
        lines.AddRange(extraLines);
        string path = Path.Combine(Work.Root, name + ".yaml");
        File.WriteAllText(path, string.Join("\n", lines) + "\n");
        return path;
    }

    public static IReadOnlyList<LoggedStep> Steps(string outputDir) =>
        [.. File.ReadLines(Path.Combine(outputDir, "metrics.jsonl"))
            .Select(l => JsonDocument.Parse(l).RootElement)
            .Where(e => e.TryGetProperty("step", out _))
            .Select(e => new LoggedStep(e.GetProperty("step").GetInt32(), e.GetProperty("loss").GetDouble(), e.GetProperty("all_reduced_bytes").GetInt64()))];

    /// <summary>Every trainable tensor of a checkpoint, by name.</summary>
    public static Dictionary<string, float[]> Trainable(string checkpoint)
    {
        using var file = SafetensorsFile.Open(Path.Combine(checkpoint, "trainable.safetensors"));
        return file.Tensors.Keys.ToDictionary(k => k, k =>
        {
            using var t = file.Load(k);
            return t.to(TorchSharp.torch.ScalarType.Float32).data<float>().ToArray();
        });
    }

    /// <summary>The largest |a - b| over every element of every tensor (the names must match).</summary>
    public static (double Max, string Where) MaxDifference(Dictionary<string, float[]> a, Dictionary<string, float[]> b)
    {
        Assert.Equal(a.Keys.Order(), b.Keys.Order());
        double max = 0;
        string where = "";
        foreach (var (name, x) in a)
        {
            var y = b[name];
            for (int i = 0; i < x.Length; i++)
            {
                double d = Math.Abs(x[i] - y[i]);
                if (d > max) (max, where) = (d, name);
            }
        }
        return (max, where);
    }

    public void Dispose() => Work.Dispose();
}
