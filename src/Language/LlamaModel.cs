using MultiLora.Core.Tensors;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MultiLora.Language;

/// <summary>The decoder stack without the LM head: embeddings in, final-norm hidden states out.</summary>
public sealed class LlamaModel : nn.Module<Tensor, Tensor>
{
    public Embedding embed_tokens;
    public ModuleList<LlamaDecoderLayer> layers;
    public RmsNorm norm;

    public LlamaConfig Config { get; }
    public RotaryEmbedding Rotary { get; }

    /// <summary>Recompute each block in backward instead of keeping its activations (training only).</summary>
    public bool GradientCheckpointing { get; set; }

    public LlamaModel(LlamaConfig c, ScalarType dtype, Device? device = null) : base(nameof(LlamaModel))
    {
        Config = c;
        embed_tokens = Embeddings.Create(c.VocabSize, c.HiddenSize, dtype, device);
        layers = new ModuleList<LlamaDecoderLayer>(Enumerable.Range(0, c.NumLayers).Select(_ => new LlamaDecoderLayer(c, dtype, device)).ToArray());
        norm = new RmsNorm(c.HiddenSize, c.RmsNormEps, dtype, device);
        Rotary = new RotaryEmbedding(c.HeadDim, c.Rope);
        RegisterComponents();
    }

    public override Tensor forward(Tensor inputsEmbeds) => Forward(inputsEmbeds, null, null, null);

    /// <param name="inputsEmbeds">[B, T, hidden]</param>
    /// <param name="positions">[B, T] int64 positions; null = past..past+T-1 for every row (past = the cache's length)</param>
    /// <param name="mask">bool [B, 1, T, S] (see <see cref="AttentionMasks"/>) or null for causal</param>
    /// <returns>[B, T, hidden] after the final norm</returns>
    public Tensor Forward(Tensor inputsEmbeds, Tensor? positions, Tensor? mask, IKvCache? cache)
    {
        using var scope = NewDisposeScope();
        long t = inputsEmbeds.size(1);
        // the usual case reads cached tables (no per-step allocation or upload); explicit positions are computed
        var rope = positions is null
            ? Rotary.Range(cache?.Length ?? 0, t, inputsEmbeds.device, inputsEmbeds.dtype)
            : Rotary.Tables(positions, inputsEmbeds.dtype);
        var h = inputsEmbeds;
        bool checkpoint = GradientCheckpointing && cache is null && mask is null && is_grad_enabled();
        // a checkpointed block only reaches its own parameters (LoRA) if its input asks for a gradient
        // (what transformers' enable_input_require_grads does for frozen embeddings)
        if (checkpoint && !h.requires_grad) h = h.detach().requires_grad_(true);
        for (int i = 0; i < layers.Count; i++)
            h = checkpoint ? CheckpointedBlock.Apply(layers[i], h, rope, i) : layers[i].Forward(h, rope, mask, cache, i);
        return norm.call(h).MoveToOuterDisposeScope();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) Rotary.Dispose();
        base.Dispose(disposing);
    }
}
