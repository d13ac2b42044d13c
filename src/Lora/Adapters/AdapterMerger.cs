using MultiLora.Lora.Quantization;
using MultiLora.Lora.Surgery;
using static TorchSharp.torch.nn;

namespace MultiLora.Lora.Adapters;

/// <summary>
/// Folds the active LoRA adapter into the base weights and takes the LoRA wrappers out again, leaving a
/// plain model whose state dict has the base names (q_proj.weight) that transformers loads.
/// </summary>
public static class AdapterMerger
{
    /// <returns>the paths that were merged and unwrapped</returns>
    public static List<string> MergeAndUnload(Module root)
    {
        var merged = new List<string>();
        foreach (var (path, lora) in LoraInjector.LoraModules(root))
        {
            if (lora.BaseLayer is IQuantizedLinear)
                throw new InvalidOperationException($"{path}: the base is quantized; load the base in full precision to merge an adapter into a full checkpoint");
            if (lora.ActiveAdapter is not null && !lora.MergedAdapters.Contains(lora.ActiveAdapter)) lora.Merge(lora.ActiveAdapter);
            ModuleSurgery.Replace(root, path, lora.BaseLayer);
            merged.Add(path);
        }
        return merged;
    }
}
