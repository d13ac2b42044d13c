using TorchSharp;
using static TorchSharp.torch;

namespace MultiLora.Language;

/// <summary>Text-only Llama: decoder + LM head (weights may be tied to the embeddings).</summary>
public sealed class LlamaForCausalLM : nn.Module<Tensor, Tensor>
{
    public LlamaModel model;
    public nn.Module<Tensor, Tensor> lm_head;

    public LlamaForCausalLM(LlamaConfig c, ScalarType dtype, Device? device = null) : base(nameof(LlamaForCausalLM))
    {
        model = new LlamaModel(c, dtype, device);
        lm_head = LmHead.Create(c, model, dtype, device);
        RegisterComponents();
    }

    /// <summary>input ids [B, T] to logits [B, T, vocab].</summary>
    public override Tensor forward(Tensor inputIds)
    {
        using var scope = NewDisposeScope();
        var hidden = model.Forward(model.embed_tokens.call(inputIds), null, null, null);
        return lm_head.call(hidden).MoveToOuterDisposeScope();
    }
}

/// <summary>The output projection; shares the embedding matrix when the config ties them.</summary>
public static class LmHead
{
    public static nn.Module<Tensor, Tensor> Create(LlamaConfig c, LlamaModel model, ScalarType dtype, Device? device = null)
    {
        var head = nn.Linear(c.HiddenSize, c.VocabSize, hasBias: false, device, dtype);
        Tie(c, head, model);
        return head;
    }

    /// <summary>Makes a plain linear head share the embedding matrix when the config ties them (no-op otherwise).</summary>
    public static void Tie(LlamaConfig c, nn.Module<Tensor, Tensor> head, LlamaModel model)
    {
        if (!c.TieWordEmbeddings) return;
        if (head is not TorchSharp.Modules.Linear linear)
            throw new InvalidOperationException($"tie_word_embeddings: the LM head is a {head.GetType().Name}, not a plain linear that can share the embedding matrix");
        linear.weight = model.embed_tokens.weight!;
    }
}
