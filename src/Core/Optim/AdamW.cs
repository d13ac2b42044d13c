using MultiLora.Core.Tensors;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MultiLora.Core.Optim;

/// <summary>
/// torch.optim.AdamW (amsgrad and maximize off), with PyTorch's arithmetic in PyTorch's order, per parameter:
/// <code>
///   p.mul_(1 - lr*wd);  m.mul_(b1).add_(g, 1-b1);  v.mul_(b2).addcmul_(g, g, 1-b2)
///   p.addcdiv_(m, sqrt(v)/sqrt(1-b2^t) + eps, -lr/(1-b1^t))
/// </code>
/// with t the parameter's own step count. As in PyTorch, a parameter whose <c>.grad</c> is null in a step is not
/// touched and its count does not advance; its state is made at its first gradient. The step takes each group's
/// learning rate for this step (a scheduler's), so the caller may all-reduce or clip the gradients in between.
/// Why our own: TorchSharp's AdamW runs the whole step in one dispose scope (its two parameter-sized temporaries
/// per parameter live until the step ends: two extra model copies at the step's peak in full fine-tuning) and
/// hands temporary Scalars to native code. Here each parameter runs in its own scope with in-place ops (one
/// temporary, the denominator, gone before the next parameter) and every Scalar is held across its native call.
/// </summary>
public sealed class AdamW : IDisposable
{
    readonly List<AdamWGroup> _groups;
    readonly Dictionary<string, AdamWState> _state = new(StringComparer.Ordinal);
    readonly Dictionary<string, Parameter> _byName = new(StringComparer.Ordinal);

    public AdamW(IEnumerable<AdamWGroup> groups)
    {
        _groups = groups.ToList();
        var tensors = new HashSet<IntPtr>();
        foreach (var g in _groups)
        {
            // torch.optim.AdamW's own argument checks
            if (!(g.Lr >= 0)) throw new ArgumentException($"AdamW: invalid learning rate {g.Lr}");
            if (!(g.Eps >= 0)) throw new ArgumentException($"AdamW: invalid eps {g.Eps}");
            if (!(g.Beta1 >= 0 && g.Beta1 < 1)) throw new ArgumentException($"AdamW: invalid beta1 {g.Beta1}");
            if (!(g.Beta2 >= 0 && g.Beta2 < 1)) throw new ArgumentException($"AdamW: invalid beta2 {g.Beta2}");
            if (!(g.WeightDecay >= 0)) throw new ArgumentException($"AdamW: invalid weight decay {g.WeightDecay}");
            foreach (var (name, p) in g.Parameters)
            {
                if (!_byName.TryAdd(name, p)) throw new ArgumentException($"AdamW: parameter '{name}' appears twice");
                // a second handle to one tensor (a tied weight) would be stepped twice
                if (!tensors.Add(p.Handle)) throw new ArgumentException($"AdamW: parameter '{name}' is the same tensor as another parameter");
            }
        }
    }

    public IReadOnlyList<AdamWGroup> Groups => _groups;

    /// <summary>Every parameter, group by group, in group order (the order TorchSharp's AdamW kept its state in).</summary>
    public IEnumerable<(string Name, Parameter Parameter)> Parameters => _groups.SelectMany(g => g.Parameters);

    /// <summary>The state of a parameter, or null before its first update.</summary>
    public AdamWState? State(string name) => _state.GetValueOrDefault(name);

    /// <summary>A step at each group's own <see cref="AdamWGroup.Lr"/>.</summary>
    public void Step() => Step(_groups.Select(g => g.Lr).ToList());

    /// <summary>One update of every parameter that has a gradient, group g at learning rate <paramref name="groupLr"/>[g].</summary>
    public void Step(IReadOnlyList<double> groupLr)
    {
        if (groupLr.Count != _groups.Count) throw new ArgumentException($"AdamW: {groupLr.Count} learning rates for {_groups.Count} groups");
        using var noGrad = no_grad();
        for (int g = 0; g < _groups.Count; g++)
        {
            var group = _groups[g];
            // the rate changes every step: a Scalar made from it is owned here (held across the native calls,
            // then freed), not cached process-wide
            using var decay = (1.0 - groupLr[g] * group.WeightDecay).ToScalar();
            foreach (var (name, p) in group.Parameters)
                Update(name, p, group, groupLr[g], decay);
        }
    }

    void Update(string name, Parameter p, AdamWGroup group, double lr, Scalar decay)
    {
        using var scope = NewDisposeScope();
        var grad = p.grad;
        if (grad is null) return;
        var state = StateFor(name, p);
        long step = ++state.Step;
        double biasCorrection1 = 1 - Math.Pow(group.Beta1, step);
        double biasCorrection2Sqrt = Math.Sqrt(1 - Math.Pow(group.Beta2, step));
        using var stepSize = (-(lr / biasCorrection1)).ToScalar();
        using var denomScale = biasCorrection2Sqrt.ToScalar();

        // torch multiplies by 1 - lr*0 = 1 too; x*1 == x bit for bit, so skipping that pass changes nothing
        if (group.WeightDecay != 0) p.mul_(decay);
        state.ExpAvg.mul_(Scalars.Of(group.Beta1)).add_(grad, Scalars.Of(1 - group.Beta1));
        state.ExpAvgSq.mul_(Scalars.Of(group.Beta2)).addcmul_(grad, grad, Scalars.Of(1 - group.Beta2));
        var denom = state.ExpAvgSq.sqrt();
        denom.div_(denomScale).add_(Scalars.Of(group.Eps), Scalars.One);
        p.addcdiv_(state.ExpAvg, denom, stepSize);
    }

    AdamWState StateFor(string name, Parameter p)
    {
        if (_state.TryGetValue(name, out var state)) return state;
        // moments in the parameter's dtype and device, as torch.zeros_like(p)
        state = new AdamWState(0, zeros_like(p).DetachFromDisposeScope(), zeros_like(p).DetachFromDisposeScope());
        _state[name] = state;
        return state;
    }

    /// <summary>
    /// Sets a parameter's state from a checkpoint: <paramref name="step"/> updates done, and its moments (copied in;
    /// null when step is 0). Shapes and dtypes must be the parameter's.
    /// </summary>
    public void Restore(string name, long step, Tensor? expAvg, Tensor? expAvgSq)
    {
        if (!_byName.TryGetValue(name, out var p)) throw new ArgumentException($"AdamW: no parameter '{name}'");
        if (_state.Remove(name, out var old)) old.Dispose();
        if (step < 0) throw new ArgumentException($"AdamW: '{name}': step {step} is negative");
        if (step == 0) return;
        if (expAvg is null || expAvgSq is null) throw new ArgumentException($"AdamW: '{name}': step {step} but no moments");
        foreach (var (what, t) in new[] { ("exp_avg", expAvg), ("exp_avg_sq", expAvgSq) })
        {
            if (!t.shape.SequenceEqual(p.shape))
                throw new ArgumentException($"AdamW: '{name}' {what} is [{string.Join(", ", t.shape)}], the parameter is [{string.Join(", ", p.shape)}]");
            if (t.dtype != p.dtype) throw new ArgumentException($"AdamW: '{name}' {what} is {t.dtype}, the parameter is {p.dtype}");
        }
        var state = StateFor(name, p);
        using (no_grad())
        {
            state.ExpAvg.copy_(expAvg);
            state.ExpAvgSq.copy_(expAvgSq);
        }
        state.Step = step;
    }

    public void Dispose()
    {
        foreach (var s in _state.Values) s.Dispose();
        _state.Clear();
    }
}
