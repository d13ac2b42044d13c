using MultiLora.Core.Runtime;
using MultiLora.Llava.Model;
using MultiLora.Llava.Training.Recipes;
using MultiLora.Lora.Adapters;
using MultiLora.Lora.Quantization;
using MultiLora.Lora.Surgery;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MultiLora.Llava.Training;

/// <summary>What trains and at which learning rate, after the method (projector | full | lora | qlora) was applied.</summary>
public sealed record TrainableParameters(
    IReadOnlyList<(string Name, Parameter Parameter)> Projector,
    IReadOnlyList<(string Name, Parameter Parameter)> Rest,
    LoraConfig? Lora,
    IReadOnlyList<(string Name, Parameter Parameter)>? Vision = null)
{
    public IReadOnlyList<(string Name, Parameter Parameter)> VisionTower => Vision ?? [];
    public IEnumerable<(string Name, Parameter Parameter)> All => Projector.Concat(Rest).Concat(VisionTower);
    public long Count => All.Sum(p => p.Parameter.numel());
}

/// <summary>
/// Applies a recipe's method to a loaded model, peft-style from the outside: the vision tower stays frozen
/// unless the recipe unfreezes it; the projector always trains; the language model trains in full, through LoRA, or
/// through LoRA over an NF4/int8-quantized copy of its linears (QLoRA), or not at all (stage 1).
/// </summary>
public static class TrainingSetup
{
    public const string ProjectorModule = "multi_modal_projector";
    public const string VisionModule = "vision_tower";
    const string TiedHeadWeight = "lm_head.weight";

    /// <summary>
    /// How the recipe quantizes the frozen base: null unless the method is qlora. The trainer loads with
    /// it (quantize-on-load), so the full-precision language model is never in memory.
    /// </summary>
    public static QuantConfig? Quantization(TrainRecipe recipe) => recipe.EffectiveMethod != TrainMethod.Qlora ? null : new QuantConfig
    {
        Type = recipe.Quant.Type == "int8" ? QuantType.Int8 : QuantType.Nf4,
        DoubleQuant = recipe.Quant.DoubleQuant,
        BlockSize = recipe.Quant.BlockSize,
    };

    public static TrainableParameters Apply(LlavaForConditionalGeneration model, TrainRecipe recipe)
    {
        var method = recipe.EffectiveMethod;
        LoraConfig? lora = null;
        foreach (var p in model.parameters()) p.requires_grad = false;
        switch (method)
        {
            case TrainMethod.Projector:
                break;
            case TrainMethod.Full:
                foreach (var p in model.model.language_model.parameters()) p.requires_grad = true;
                foreach (var p in model.lm_head.parameters()) p.requires_grad = true;
                break;
            case TrainMethod.Lora:
            case TrainMethod.Qlora:
                // a model loaded with quantize-on-load has no full-precision linears left here: nothing to do
                if (Quantization(recipe) is { } quant)
                    Quantizer.QuantizeLinears(model, "model.language_model.", quant);
                lora = new LoraConfig
                {
                    R = recipe.Lora.Rank,
                    Alpha = recipe.Lora.EffectiveAlpha,
                    Dropout = recipe.Lora.Dropout,
                    UseRsLora = recipe.Lora.Rslora,
                    TargetModules = TargetModules.FromNames([.. recipe.Lora.Targets]),
                    ModulesToSave = recipe.UnfreezeVisionTower ? [ProjectorModule, VisionModule] : [ProjectorModule],
                };
                LoraInjector.Apply(model, lora);
                break;
        }
        var trainableDtype = TorchRuntime.ResolveDType(recipe.EffectiveTrainableDtype);
        KeepTrainablesIn(model, lora, trainableDtype);
        var computeDtype = TorchRuntime.ResolveDType(recipe.Dtype);
        if (recipe.Autocast && computeDtype != trainableDtype) ComputeIn(model, lora, computeDtype);
        // an unfrozen tower trains in full like the projector: float32 master weights under bf16 too
        if (recipe.UnfreezeVisionTower) model.model.vision_tower.to(trainableDtype);
        foreach (var p in model.model.multi_modal_projector.parameters()) p.requires_grad = true;
        if (recipe.UnfreezeVisionTower)
            foreach (var p in model.model.vision_tower.parameters()) p.requires_grad = true;

        var projector = new List<(string, Parameter)>();
        var vision = new List<(string, Parameter)>();
        var rest = new List<(string, Parameter)>();
        foreach (var (name, p) in model.named_parameters())
        {
            if (!p.requires_grad) continue;
            // a tied head is the embedding matrix under a second handle (TorchSharp lists both): optimising
            // it twice would double its step and its share of the gradient norm
            if (model.Config.Text.TieWordEmbeddings && name == TiedHeadWeight) continue;
            var group = name.Contains(ProjectorModule, StringComparison.Ordinal) ? projector
                : name.Contains(VisionModule, StringComparison.Ordinal) ? vision : rest;
            group.Add((name, p));
        }
        return new TrainableParameters(projector, rest, lora, vision);
    }

    /// <summary>Autocast: the trained adapter and the projector compute in <paramref name="dtype"/> (weights cast per forward).</summary>
    static void ComputeIn(LlavaForConditionalGeneration model, LoraConfig? lora, ScalarType dtype)
    {
        model.model.multi_modal_projector.ComputeDType = dtype;
        if (lora is null) return;
        foreach (var (_, m) in LoraInjector.LoraModules(model))
            if (m.Adapters.Contains(lora.AdapterName)) m.ComputeDType = dtype;
    }

    /// <summary>
    /// Mixed precision: the trained parameters (projector, the new LoRA adapter) held in
    /// <paramref name="dtype"/> as master weights while the frozen base keeps the model's dtype. The
    /// modules cast inputs to their own dtype (LoraLinear, MultiModalProjector). Full training keeps the
    /// model's dtype throughout (the recipe only allows that), so nothing is cast there.
    /// </summary>
    static void KeepTrainablesIn(LlavaForConditionalGeneration model, LoraConfig? lora, ScalarType dtype)
    {
        model.model.multi_modal_projector.to(dtype);
        if (lora is null) return;
        foreach (var (_, m) in LoraInjector.LoraModules(model))
            if (m.Adapters.Contains(lora.AdapterName)) m.CastAdapter(lora.AdapterName, dtype);
        LoraInjector.MarkTrainable(model, lora);
    }
}
