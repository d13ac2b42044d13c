using MultiLora.Core.Tensors;
using static TorchSharp.torch;

namespace MultiLora.Llava.Training;

/// <summary>
/// The steps since the last read, whose losses and gradient norms are still on the device. Reading every step's
/// loss (loss.item() per micro-batch) and norm (clip_grad_norm_ returning a double) made the host wait for the GPU
/// two or more times a step; here they are kept as 0-d device tensors and read together, in one transfer, where
/// the run needs them: at log points, before a checkpoint is written, at an evaluation and at the end. The values
/// are the ones the per-step reads gave (each micro-batch's float32 loss; the step's loss their mean in double, or,
/// where the trainer gives one, the step's token-loss sum over all ranks divided by its label tokens).
/// </summary>
public sealed class PendingSteps : IDisposable
{
    sealed record Entry(List<Tensor> MicroLosses, List<IReadOnlyList<string>> Origins, Tensor? GradNorm, (Tensor Sum, double Tokens)? StepLoss, object? Payload);

    readonly List<Entry> _closed = [];
    List<Tensor> _micro = [];
    List<IReadOnlyList<string>> _origins = [];
    (Tensor Sum, double Tokens)? _stepLoss;

    /// <summary>Steps closed and not read yet.</summary>
    public int Count => _closed.Count;

    /// <summary>Keeps one micro-batch's loss (detached, on its device) with the batch's sample origins.</summary>
    public void AddMicroLoss(Tensor loss, IReadOnlyList<string> origins)
    {
        _micro.Add(loss.detach().reshape(1).DetachFromDisposeScope());
        _origins.Add(origins);
    }

    /// <summary>
    /// The step's loss as a token-loss sum (a one-element tensor, summed over ranks) and the label tokens it covers;
    /// without it the step's loss is the mean of its micro-batch losses.
    /// </summary>
    public void SetStepLoss(Tensor sum, double tokens)
    {
        _stepLoss?.Sum.Dispose();
        _stepLoss = (sum.detach().reshape(1).DetachFromDisposeScope(), tokens);
    }

    /// <summary>Ends a step: its micro-batch losses so far, its gradient norm (a 0-d tensor, or null) and what the caller keeps with it.</summary>
    public void CloseStep(Tensor? gradNorm, object? payload)
    {
        _closed.Add(new Entry(_micro, _origins, gradNorm?.detach().reshape(1).DetachFromDisposeScope(), _stepLoss, payload));
        _micro = [];
        _origins = [];
        _stepLoss = null;
    }

    /// <summary>One read step: its mean loss, each micro-batch's loss with its origins, its norm (NaN when none), and the payload.</summary>
    public sealed record Read(double Loss, IReadOnlyList<(double Loss, IReadOnlyList<string> Origins)> MicroBatches, double GradNorm, object? Payload);

    /// <summary>Every closed step's values in one device-to-host transfer; the window is empty afterwards.</summary>
    public List<Read> ReadAll()
    {
        if (_closed.Count == 0) return [];
        var device = _closed.SelectMany(e => e.MicroLosses).Concat(_closed.Select(e => e.GradNorm).OfType<Tensor>()).Select(t => t.device).FirstOrDefault() ?? CPU;
        double[] values;
        using (var scope = NewDisposeScope())
        {
            // float64 holds the float32 losses and norms exactly, and a step's loss sum as summed
            var none = empty(1, ScalarType.Float64, device).fill_(Scalars.Of(double.NaN));
            var parts = _closed.SelectMany(e => e.MicroLosses.Select(l => l.to(ScalarType.Float64))
                .Append(e.GradNorm?.to(ScalarType.Float64) ?? none)
                .Append(e.StepLoss?.Sum.to(ScalarType.Float64) ?? none)).ToList();
            values = HostRead.Doubles(cat(parts));
        }
        var reads = new List<Read>(_closed.Count);
        int at = 0;
        foreach (var e in _closed)
        {
            var micro = e.MicroLosses.Select((_, i) => ((double)values[at + i], e.Origins[i])).ToList();
            at += e.MicroLosses.Count;
            double norm = values[at++];
            double stepSum = values[at++];
            // a step's loss is logged at float32, its own precision (for one micro-batch on one rank: the value torch's
            // mean reduction gives, the float32 sum over the label tokens correctly rounded)
            double loss = e.StepLoss is { } step ? (float)(stepSum / step.Tokens) : micro.Count == 0 ? double.NaN : micro.Average(m => m.Item1);
            reads.Add(new Read(loss, micro, norm, e.Payload));
        }
        Clear();
        return reads;
    }

    void Clear()
    {
        foreach (var e in _closed) { foreach (var l in e.MicroLosses) l.Dispose(); e.GradNorm?.Dispose(); e.StepLoss?.Sum.Dispose(); }
        _closed.Clear();
    }

    public void Dispose()
    {
        Clear();
        foreach (var l in _micro) l.Dispose();
        _micro.Clear();
        _stepLoss?.Sum.Dispose();
        _stepLoss = null;
    }
}
