using TorchSharp;
using static TorchSharp.torch;

namespace MultiLora.Language;

/// <summary>Text-only Llama: decoder + LM head (weights may be tied to the embeddings).</summary>
public sealed class LlamaForCausalLM : nn.Module<Tensor, Tensor>
{
    public LlamaModel model;
    public nn.Module<Tensor, Tensor> lm_head;

    public LlamaForCausalLM(LlamaConfig c, ScalarType dtype) : base(nameof(LlamaForCausalLM))
    {
        model = new LlamaModel(c, dtype);
        lm_head = LmHead.Create(c, model, dtype);
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
    public static nn.Module<Tensor, Tensor> Create(LlamaConfig c, LlamaModel model, ScalarType dtype)
    {
        var head = nn.Linear(c.HiddenSize, c.VocabSize, hasBias: false, dtype: dtype);
        if (c.TieWordEmbeddings) head.weight = model.embed_tokens.weight!;
        return head;
    }
}
