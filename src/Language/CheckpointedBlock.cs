using TorchSharp;
using static TorchSharp.torch;

namespace MultiLora.Language;

/// <summary>
/// Gradient checkpointing of one decoder block (as torch.utils.checkpoint with use_reentrant=True): the
/// forward runs without building a graph and keeps only the block's input; the backward runs the block
/// again with grad enabled and back-propagates through that recomputation. Activation memory per block
/// drops to one [B, T, hidden] tensor, at the price of a second forward. The input and the rope tables are
/// kept by reference (a detached handle on the same storage, outside the caller's dispose scopes), not
/// copied: nothing modifies them in place, so a copy would only cost an allocation and a kernel per block.
/// </summary>
internal sealed class CheckpointedBlock : autograd.SingleTensorFunction<CheckpointedBlock>
{
    const string Saved = "saved";

    sealed record SavedState(LlamaDecoderLayer Layer, Tensor Input, Tensor Cos, Tensor Sin, int Index);

    public override string Name => nameof(CheckpointedBlock);

    public static Tensor Apply(LlamaDecoderLayer layer, Tensor x, (Tensor Cos, Tensor Sin) rope, int index) =>
        apply(x, layer, rope.Cos, rope.Sin, index);

    public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
    {
        var x = (Tensor)vars[0];
        var layer = (LlamaDecoderLayer)vars[1];
        var cos = (Tensor)vars[2];
        var sin = (Tensor)vars[3];
        int index = (int)vars[4];
        // kept beyond the caller's dispose scopes until backward has used them
        ctx.save_data(Saved, new SavedState(layer,
            x.detach().DetachFromDisposeScope(), cos.detach().DetachFromDisposeScope(), sin.detach().DetachFromDisposeScope(), index));
        return layer.Forward(x, (cos, sin), null, null, index);
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput)
    {
        var s = (SavedState)ctx.get_data(Saved);
        try
        {
            using var scope = NewDisposeScope();
            using var _ = enable_grad();
            var input = s.Input.detach().requires_grad_(true);
            var output = s.Layer.Forward(input, (s.Cos, s.Sin), null, null, s.Index);
            output.backward([gradOutput]);
            var inputGrad = input.grad!.detach().clone().MoveToOuterDisposeScope();
            return [inputGrad, null!, null!, null!, null!];
        }
        finally
        {
            s.Input.Dispose(); s.Cos.Dispose(); s.Sin.Dispose();
        }
    }
}
