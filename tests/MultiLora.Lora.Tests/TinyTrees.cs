using MultiLora.Core.Tensors;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace MultiLora.Lora.Tests;

/// <summary>
/// A small LLaVA-shaped module tree with Hugging Face's names (model.language_model.layers.N.self_attn.q_proj,
/// model.vision_tower.vision_model.encoder.layers.N.self_attn.q_proj, model.multi_modal_projector.linear_1),
/// built the way model code holds children: fields typed Module&lt;Tensor, Tensor&gt;.
/// </summary>
public sealed class TinyLlava : Module<Tensor, Tensor>
{
    public readonly Inner model;
    public Module<Tensor, Tensor> lm_head;

    public TinyLlava(long hidden = 48, long qOut = 48, long kvOut = 24, long intermediate = 96, int layers = 2, long visionHidden = 32)
        : base(nameof(TinyLlava))
    {
        model = new Inner(hidden, qOut, kvOut, intermediate, layers, visionHidden);
        lm_head = Linear(hidden, 40, hasBias: false);
        RegisterComponents();
    }

    /// <summary>Runs the language model's linears on hidden states [.., hidden]: enough to see every replacement.</summary>
    public override Tensor forward(Tensor x) => lm_head.forward(model.language_model.forward(x));

    public sealed class Inner : Module
    {
        public readonly LanguageModel language_model;
        public readonly VisionTower vision_tower;
        public readonly Projector multi_modal_projector;

        public Inner(long hidden, long qOut, long kvOut, long intermediate, int layers, long visionHidden) : base(nameof(Inner))
        {
            language_model = new LanguageModel(hidden, qOut, kvOut, intermediate, layers);
            vision_tower = new VisionTower(visionHidden);
            multi_modal_projector = new Projector(visionHidden, hidden);
            RegisterComponents();
        }
    }

    public sealed class LanguageModel : Module<Tensor, Tensor>
    {
        public readonly TorchSharp.Modules.ModuleList<DecoderLayer> layers;

        public LanguageModel(long hidden, long qOut, long kvOut, long intermediate, int count) : base(nameof(LanguageModel))
        {
            layers = ModuleList(Enumerable.Range(0, count).Select(_ => new DecoderLayer(hidden, qOut, kvOut, intermediate)).ToArray());
            RegisterComponents();
        }

        public override Tensor forward(Tensor x)
        {
            foreach (var l in layers) x = l.forward(x);
            return x;
        }
    }

    public sealed class DecoderLayer : Module<Tensor, Tensor>
    {
        public readonly Attention self_attn;
        public readonly Mlp mlp;

        public DecoderLayer(long hidden, long qOut, long kvOut, long intermediate) : base(nameof(DecoderLayer))
        {
            self_attn = new Attention(hidden, qOut, kvOut);
            mlp = new Mlp(hidden, intermediate);
            RegisterComponents();
        }

        public override Tensor forward(Tensor x)
        {
            var h = x.Plus(self_attn.forward(x));
            return h.Plus(mlp.forward(h));
        }
    }

    /// <summary>Not real attention: a path through q, k, v and o so every projection affects the output.</summary>
    public sealed class Attention : Module<Tensor, Tensor>
    {
        public Module<Tensor, Tensor> q_proj, k_proj, v_proj, o_proj;

        public Attention(long hidden, long qOut, long kvOut) : base(nameof(Attention))
        {
            q_proj = Linear(hidden, qOut, hasBias: false);
            k_proj = Linear(hidden, kvOut, hasBias: false);
            v_proj = Linear(hidden, kvOut, hasBias: false);
            o_proj = Linear(qOut, hidden, hasBias: false);
            RegisterComponents();
        }

        public override Tensor forward(Tensor x)
        {
            var q = q_proj.forward(x);
            var kv = k_proj.forward(x) * v_proj.forward(x);
            return o_proj.forward(q.Plus(kv.repeat_interleave(q.shape[^1] / kv.shape[^1], -1)));
        }
    }

    public sealed class Mlp : Module<Tensor, Tensor>
    {
        public Module<Tensor, Tensor> gate_proj, up_proj, down_proj;

        public Mlp(long hidden, long intermediate) : base(nameof(Mlp))
        {
            gate_proj = Linear(hidden, intermediate, hasBias: false);
            up_proj = Linear(hidden, intermediate, hasBias: false);
            down_proj = Linear(intermediate, hidden, hasBias: false);
            RegisterComponents();
        }

        public override Tensor forward(Tensor x) => down_proj.forward(functional.silu(gate_proj.forward(x)) * up_proj.forward(x));
    }

    public sealed class VisionTower : Module
    {
        public readonly VisionModel vision_model;
        public VisionTower(long hidden) : base(nameof(VisionTower)) { vision_model = new VisionModel(hidden); RegisterComponents(); }
    }

    public sealed class VisionModel : Module
    {
        public readonly Encoder encoder;
        public VisionModel(long hidden) : base(nameof(VisionModel)) { encoder = new Encoder(hidden); RegisterComponents(); }
    }

    public sealed class Encoder : Module
    {
        public readonly TorchSharp.Modules.ModuleList<Attention> layers;
        public Encoder(long hidden) : base(nameof(Encoder))
        {
            layers = ModuleList(new Attention(hidden, hidden, hidden));
            RegisterComponents();
        }
    }

    public sealed class Projector : Module<Tensor, Tensor>
    {
        public Module<Tensor, Tensor> linear_1, linear_2;
        public Projector(long visionHidden, long hidden) : base(nameof(Projector))
        {
            linear_1 = Linear(visionHidden, hidden);
            linear_2 = Linear(hidden, hidden);
            RegisterComponents();
        }
        public override Tensor forward(Tensor x) => linear_2.forward(functional.gelu(linear_1.forward(x)));
    }
}
