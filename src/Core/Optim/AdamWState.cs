using static TorchSharp.torch;

namespace MultiLora.Core.Optim;

/// <summary>
/// One parameter's AdamW state, as torch keeps it: the number of steps that updated it (steps in which it had no
/// gradient do not count) and the two moments, in the parameter's dtype and device. Owned by the optimizer.
/// </summary>
public sealed class AdamWState(long step, Tensor expAvg, Tensor expAvgSq) : IDisposable
{
    public long Step { get; internal set; } = step;
    public Tensor ExpAvg { get; } = expAvg;
    public Tensor ExpAvgSq { get; } = expAvgSq;

    public void Dispose()
    {
        ExpAvg.Dispose();
        ExpAvgSq.Dispose();
    }
}
