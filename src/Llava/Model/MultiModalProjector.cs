using TorchSharp;
using static TorchSharp.torch;

namespace MultiLora.Llava.Model;

/// <summary>
/// Maps vision features into the language model's embedding space: `mlp2x_gelu`
/// (linear_1, GELU, linear_2 — LLaVA-1.5 and llava-hf) or `linear` (linear_1 only — LLaVA-1).
/// </summary>
public sealed class MultiModalProjector : nn.Module<Tensor, Tensor>
{
    readonly string _act;
    public nn.Module<Tensor, Tensor> linear_1;
    public nn.Module<Tensor, Tensor>? linear_2;

    public MultiModalProjector(LlavaConfig c, ScalarType dtype, Device? device = null) : base(nameof(MultiModalProjector))
    {
        _act = c.ProjectorAct;
        if (c.ProjectorType is not (LlavaConfig.Mlp2xGelu or LlavaConfig.Linear))
            throw new InvalidDataException($"projector type '{c.ProjectorType}' is not supported ({LlavaConfig.Mlp2xGelu}, {LlavaConfig.Linear})");
        linear_1 = nn.Linear(c.Vision.HiddenSize, c.Text.HiddenSize, c.ProjectorBias, device, dtype);
        if (c.ProjectorType == LlavaConfig.Mlp2xGelu)
            linear_2 = nn.Linear(c.Text.HiddenSize, c.Text.HiddenSize, c.ProjectorBias, device, dtype);
        RegisterComponents();
    }

    /// <summary>features [N, P, visionHidden] to [N, P, textHidden], in the projector's own dtype.</summary>
    /// <summary>
    /// torch.autocast for the projector: when set (bf16 while it trains in float32), its weights are cast to it at each
    /// forward and it computes there; null: it computes in its own dtype.
    /// </summary>
    public ScalarType? ComputeDType { get; set; }

    public override Tensor forward(Tensor features)
    {
        using var scope = NewDisposeScope();
        // Under mixed precision the projector trains in float32 behind a bf16 tower: compute in its dtype
        // (the caller casts the result to the embeddings' dtype, see LlavaForConditionalGeneration.Embed).
        var own = linear_1.parameters().First().dtype;
        var dtype = ComputeDType ?? own;
        var x = features.dtype == dtype ? features : features.to(dtype);
        Tensor Apply(nn.Module<Tensor, Tensor> layer, Tensor input) => dtype == own ? layer.call(input)
            : nn.functional.linear(input, ((TorchSharp.Modules.Linear)layer).weight!.to(dtype), ((TorchSharp.Modules.Linear)layer).bias?.to(dtype));
        var h = Apply(linear_1, x);
        if (linear_2 is not null)
        {
            h = _act switch
            {
                "gelu" => nn.functional.gelu(h),
                "gelu_pytorch_tanh" or "gelu_new" => nn.functional.gelu(h, TorchSharp.Modules.GELU.Approximate.tanh),
                "silu" => nn.functional.silu(h),
                _ => throw new InvalidDataException($"projector_hidden_act '{_act}' is not supported (gelu, gelu_pytorch_tanh, silu)"),
            };
            h = Apply(linear_2, h);
        }
        return h.MoveToOuterDisposeScope();
    }
}
