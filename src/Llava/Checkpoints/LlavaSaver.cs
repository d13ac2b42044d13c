using System.Text.Json;
using MultiLora.Core.Safetensors;
using MultiLora.Llava.Model;
using static TorchSharp.torch;

namespace MultiLora.Llava.Checkpoints;

/// <summary>
/// Writes a complete llava checkpoint folder in transformers' current layout (config.json, model.safetensors
/// with model.vision_tower.vision_model.* / model.multi_modal_projector.* / model.language_model.* / lm_head.weight,
/// tokenizer and preprocessor files), atomically: into a temporary folder, then renamed.
/// </summary>
public static class LlavaSaver
{
    static readonly string[] CompanionFiles =
        ["tokenizer.model", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "generation_config.json", "preprocessor_config.json", "chat_template.json", "chat_template.jinja", "multilora.json"];

    /// <summary>Copies the tokenizer, preprocessor and settings files into <paramref name="dir"/>, each from the first of <paramref name="companions"/> that has it.</summary>
    internal static void CopyCompanions(string dir, IEnumerable<string> companions)
    {
        foreach (var name in CompanionFiles)
        {
            var source = companions.Select(c => Path.Combine(c, name)).FirstOrDefault(File.Exists);
            if (source is not null) File.Copy(source, Path.Combine(dir, name), overwrite: true);
        }
    }

    /// <param name="companions">folders to copy tokenizer/preprocessor files from (first found wins)</param>
    /// <param name="tensors">the weights to write (default: the model's state dict); must use the model's plain names</param>
    public static void Save(string dir, LlavaForConditionalGeneration model, IEnumerable<string> companions, IEnumerable<KeyValuePair<string, Tensor>>? tensors = null, IReadOnlyDictionary<string, string>? extraFiles = null)
    {
        tensors ??= model.state_dict().Where(kv => !kv.Key.EndsWith("position_ids", StringComparison.Ordinal));
        var list = tensors.ToList();
        if (list.Any(kv => kv.Key.Contains(".base_layer.", StringComparison.Ordinal) || kv.Key.Contains(".lora_", StringComparison.Ordinal)))
            throw new InvalidOperationException("the model still holds LoRA modules: merge the adapter before saving a full checkpoint");
        if (model.Config.Text.TieWordEmbeddings) list.RemoveAll(kv => kv.Key == KeyLayout.LmHead + "weight");

        AtomicDirectory.Write(dir, temp =>
        {
            File.WriteAllText(Path.Combine(temp, "config.json"), model.Config.ToJson().ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
            SafetensorsWriter.Write(Path.Combine(temp, SafetensorsCheckpoint.SingleFile), list, SafetensorsWriter.PtMetadata);
            CopyCompanions(temp, companions);
            foreach (var (name, content) in extraFiles ?? new Dictionary<string, string>())
                File.WriteAllText(Path.Combine(temp, name), content);
        });
    }
}

/// <summary>Builds a folder under a temporary name and renames it into place, so a crash never leaves a half-written folder under the final name.</summary>
public static class AtomicDirectory
{
    public static void Write(string dir, Action<string> fill)
    {
        string full = Path.GetFullPath(dir);
        string temp = full + $".tmp-{Environment.ProcessId}";
        if (Directory.Exists(temp)) Directory.Delete(temp, true);
        Directory.CreateDirectory(temp);
        try
        {
            fill(temp);
            string? old = null;
            if (Directory.Exists(full))
            {
                old = full + $".old-{Environment.ProcessId}";
                Directory.Move(full, old);
            }
            Directory.Move(temp, full);
            if (old is not null) Directory.Delete(old, true);
        }
        catch
        {
            if (Directory.Exists(temp)) Directory.Delete(temp, true);
            throw;
        }
    }
}
