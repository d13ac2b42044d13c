namespace MultiLora.Llava.Training;

/// <summary>
/// Learning-rate multiplier per optimizer step, as transformers' schedulers compute it: linear warmup
/// from 0, then cosine (half a period to 0), linear decay to 0, or constant.
/// </summary>
public sealed record LrSchedule(string Kind, int WarmupSteps, int TotalSteps)
{
    public static LrSchedule Create(string kind, double warmupRatio, int totalSteps) =>
        new(kind, (int)Math.Ceiling(warmupRatio * totalSteps), Math.Max(1, totalSteps));

    /// <summary>The factor for the update made at <paramref name="step"/> (0-based).</summary>
    public double Factor(int step)
    {
        if (step < WarmupSteps) return (double)step / Math.Max(1, WarmupSteps);
        double progress = (double)(step - WarmupSteps) / Math.Max(1, TotalSteps - WarmupSteps);
        return Kind switch
        {
            "cosine" => Math.Max(0.0, 0.5 * (1.0 + Math.Cos(Math.PI * progress))),
            "linear" => Math.Max(0.0, 1.0 - progress),
            _ => 1.0,
        };
    }
}
