using System.Text.Json;
using TorchSharp;

namespace MultiLora.Llava.Training;

/// <summary>metrics.jsonl (one JSON object per step, flushed as written) and TensorBoard event files under tensorboard/.</summary>
public sealed class MetricsLog : IDisposable
{
    static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };
    readonly StreamWriter _jsonl;
    readonly TorchSharp.Modules.SummaryWriter _tensorboard;

    public MetricsLog(string outputDir)
    {
        Directory.CreateDirectory(outputDir);
        _jsonl = new StreamWriter(Path.Combine(outputDir, "metrics.jsonl"), append: true) { AutoFlush = true };
        _tensorboard = torch.utils.tensorboard.SummaryWriter(Path.Combine(outputDir, "tensorboard"));
    }

    public void Write(StepMetrics m)
    {
        _jsonl.WriteLine(JsonSerializer.Serialize(m, Json));
        _tensorboard.add_scalar("train/loss", (float)m.Loss, m.Step);
        _tensorboard.add_scalar("train/learning_rate", (float)m.LearningRate, m.Step);
        _tensorboard.add_scalar("train/grad_norm", (float)m.GradNorm, m.Step);
        _tensorboard.add_scalar("train/tokens_per_second", (float)m.TokensPerSecond, m.Step);
        _tensorboard.add_scalar("train/samples_per_second", (float)m.SamplesPerSecond, m.Step);
        _tensorboard.add_scalar("memory/resident_mib", m.ResidentBytes / 1048576f, m.Step);
        if (m.EvalLoss is { } e) _tensorboard.add_scalar("eval/loss", (float)e, m.Step);
        if (m.AllReducedBytes > 0) _tensorboard.add_scalar("dist/allreduce_mib", m.AllReducedBytes / 1048576f, m.Step);
    }

    public void WriteEvent(string kind, object payload) =>
        _jsonl.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object> { ["event"] = kind, ["data"] = payload }, Json));

    public void Dispose()
    {
        _jsonl.Dispose();

    }
}
