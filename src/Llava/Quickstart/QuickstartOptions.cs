using MultiLora.Llava.Training.Recipes;

namespace MultiLora.Llava.Quickstart;

/// <summary>The quickstart's knobs; the defaults finish on a 2-core CPU in a few minutes.</summary>
public sealed record QuickstartOptions
{
    public string OutputDir { get; init; } = Path.Combine("runs", "quickstart");
    /// <summary>Stage-2 method: qlora (default), lora or full.</summary>
    public TrainMethod Method { get; init; } = TrainMethod.Qlora;
    public int Seed { get; init; }
    public int Resolution { get; init; } = 32;
    public int TrainImages { get; init; } = 3000;
    public int EvalQuestions { get; init; } = 100;
    public int WarmupSteps { get; init; } = 600;
    public int Stage1Steps { get; init; } = 150;
    public int Stage2Steps { get; init; } = 600;
    public int BatchSize { get; init; } = 16;
    public int LoraRank { get; init; } = 32;
}
