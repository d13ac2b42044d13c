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
    LoraConfig? Lora)
{
    public IEnumerable<(string Name, Parameter Parameter)> All => Projector.Concat(Rest);
    public long Count => All.Sum(p => p.Parameter.numel());
}

/// <summary>
/// Applies a recipe's method to a loaded model, peft-style from the outside: the vision tower always
/// stays frozen; the projector always trains; the language model trains in full, through LoRA, or
/// through LoRA over an NF4/int8-quantized copy of its linears (QLoRA), or not at all (stage 1).
/// </summary>
public static class TrainingSetup
{
    public const string ProjectorModule = "multi_modal_projector";

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
                if (method == TrainMethod.Qlora)
                    Quantizer.QuantizeLinears(model, "model.language_model.", new QuantConfig
                    {
                        Type = recipe.Quant.Type == "int8" ? QuantType.Int8 : QuantType.Nf4,
                        DoubleQuant = recipe.Quant.DoubleQuant,
                        BlockSize = recipe.Quant.BlockSize,
                    });
                lora = new LoraConfig
                {
                    R = recipe.Lora.Rank,
                    Alpha = recipe.Lora.EffectiveAlpha,
                    Dropout = recipe.Lora.Dropout,
                    UseRsLora = recipe.Lora.Rslora,
                    TargetModules = TargetModules.FromNames([.. recipe.Lora.Targets]),
                    ModulesToSave = [ProjectorModule],
                };
                LoraInjector.Apply(model, lora);
                break;
        }
        KeepTrainablesIn(model, lora, TorchRuntime.ResolveDType(recipe.EffectiveTrainableDtype));
        foreach (var p in model.model.multi_modal_projector.parameters()) p.requires_grad = true;

        var projector = new List<(string, Parameter)>();
        var rest = new List<(string, Parameter)>();
        foreach (var (name, p) in model.named_parameters())
        {
            if (!p.requires_grad) continue;
            (name.Contains(ProjectorModule, StringComparison.Ordinal) ? projector : rest).Add((name, p));
        }
        return new TrainableParameters(projector, rest, lora);
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
