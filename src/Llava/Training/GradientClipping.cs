using MultiLora.Core.Tensors;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MultiLora.Llava.Training;

/// <summary>
/// clip_grad_norm_ that leaves the norm on the device. TorchSharp's nn.utils.clip_grad_norm_ returns a double, so
/// it reads the norm back every step, a host synchronisation that stalls a GPU's queue; PyTorch's own returns a
/// tensor. PyTorch's arithmetic (2-norm of each gradient in its dtype, 2-norm of their stack, coef = max_norm /
/// (norm + 1e-6) clamped at 1, gradients multiplied in place).
/// </summary>
public static class GradientClipping
{
    const double Epsilon = 1e-6;

    /// <summary>Clips in place; returns the total norm before clipping as a 0-d tensor on the gradients' device (null: no gradients).</summary>
    public static Tensor? ClipTotalNorm(IEnumerable<Parameter> parameters, double maxNorm)
    {
        var grads = parameters.Select(p => p.grad).Where(g => g is not null).Select(g => g!).ToList();
        if (grads.Count == 0) return null;
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var norms = grads.Select(g => g.norm(2f)).ToList();
        var total = norms.Count == 1 ? norms[0] : stack(norms).norm(2f);
        // max_norm / (total + eps) as torch.nn.utils.clip_grad_norm_ computes it (Tensor.__rtruediv__: reciprocal * max)
        var clamped = total.add(Scalars.Of(Epsilon), Scalars.One).reciprocal_().mul_(Scalars.Of(maxNorm)).clamp_max_(Scalars.One);
        foreach (var g in grads) g.mul_(clamped);   // a 0-d float32 factor, as libtorch multiplies (no rounding to the grad's dtype first)
        return total.MoveToOuterDisposeScope();
    }

    /// <summary>The total 2-norm of the gradients without clipping (max_grad_norm 0), on the device.</summary>
    public static Tensor? TotalNorm(IEnumerable<Parameter> parameters)
    {
        var grads = parameters.Select(p => p.grad).Where(g => g is not null).Select(g => g!).ToList();
        if (grads.Count == 0) return null;
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var norms = grads.Select(g => g.norm(2f)).ToList();
        return (norms.Count == 1 ? norms[0] : stack(norms).norm(2f)).MoveToOuterDisposeScope();
    }
}
