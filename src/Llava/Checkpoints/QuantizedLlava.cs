using System.Text.Json;
using System.Text.Json.Nodes;
using MultiLora.Core.Safetensors;
using MultiLora.Llava.Model;
using MultiLora.Lora.Quantization;

namespace MultiLora.Llava.Checkpoints;

/// <summary>
/// A llava checkpoint whose language-model linears are stored 4-bit NF4 (or int8) with bitsandbytes' key
/// names, and a transformers-style "quantization_config" in config.json. Written by `multilora quantize`;
/// loads back to identical outputs.
/// </summary>
public static class QuantizedLlava
{
    public const string ConfigKey = "quantization_config";

    public static void Save(string dir, LlavaForConditionalGeneration model, QuantConfig quant, IEnumerable<string> companions, string computeDtype)
    {
        AtomicDirectory.Write(dir, temp =>
        {
            var config = model.Config.ToJson();
            config[ConfigKey] = quant.Type == QuantType.Nf4
                ? new JsonObject
                {
                    ["quant_method"] = "bitsandbytes", ["load_in_4bit"] = true, ["load_in_8bit"] = false,
                    ["bnb_4bit_quant_type"] = "nf4", ["bnb_4bit_use_double_quant"] = quant.DoubleQuant,
                    ["bnb_4bit_compute_dtype"] = computeDtype, ["llm_int8_skip_modules"] = new JsonArray([.. quant.SkipModules.Select(s => (JsonNode)s)]),
                }
                : new JsonObject { ["quant_method"] = "bitsandbytes", ["load_in_4bit"] = false, ["load_in_8bit"] = true };
            File.WriteAllText(Path.Combine(temp, "config.json"), config.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
            QuantizedCheckpoint.Save(model, Path.Combine(temp, SafetensorsCheckpoint.SingleFile));
            LlavaSaver.CopyCompanions(temp, companions);
        });
    }

    /// <summary>
    /// Replaces the model's linears by the stored quantized ones and copies every other tensor. The
    /// checkpoint may be one file or shards (model.safetensors.index.json), in any layout KeyLayout reads.
    /// </summary>
    public static void LoadWeights(LlavaForConditionalGeneration model, string dir)
    {
        using var checkpoint = SafetensorsCheckpoint.Open(dir);
        // a key no layout knows keeps its name, so it is reported as matching nothing rather than skipped
        QuantizedCheckpoint.Load(model, checkpoint, key => KeyLayout.IsIgnorable(key) ? null : KeyLayout.MapAny(key) ?? key);
    }
}
