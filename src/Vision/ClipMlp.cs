using MultiLora.Core.Tensors;
using TorchSharp;
using static TorchSharp.torch;

namespace MultiLora.Vision;

/// <summary>fc2(act(fc1(x))), with CLIP's quick_gelu (x * sigmoid(1.702 x)) by default.</summary>
public sealed class ClipMlp : nn.Module<Tensor, Tensor>
{
    readonly string _act;
    public nn.Module<Tensor, Tensor> fc1, fc2;

    public ClipMlp(ClipVisionConfig c, ScalarType dtype, Device? device = null) : base(nameof(ClipMlp))
    {
        _act = c.HiddenAct;
        fc1 = nn.Linear(c.HiddenSize, c.IntermediateSize, device: device, dtype: dtype);
        fc2 = nn.Linear(c.IntermediateSize, c.HiddenSize, device: device, dtype: dtype);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var h = fc1.call(x);
        h = _act switch
        {
            "quick_gelu" => h * sigmoid(h.Times(1.702)),
            "gelu" => nn.functional.gelu(h),
            _ => nn.functional.gelu(h, TorchSharp.Modules.GELU.Approximate.tanh),
        };
        return fc2.call(h).MoveToOuterDisposeScope();
    }
}
