using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using MultiLora.Lora.Adapters;
using MultiLora.Lora.Surgery;

namespace MultiLora.Lora.Peft;

/// <summary>
/// adapter_config.json in peft's format. Writing emits peft's LoraConfig fields; reading takes the
/// fields MultiLora understands, rejects settings that would change the math in a way we do not
/// implement (DoRA, fan_in_fan_out, per-module rank/alpha patterns, LoRA bias), and ignores the many
/// bookkeeping fields peft adds over versions.
/// </summary>
public static class PeftAdapterConfig
{
    public const string FileName = "adapter_config.json";

    public sealed record Loaded(LoraConfig Config, string? BaseModelNameOrPath, string? TaskType);

    public static void Write(string dir, LoraConfig cfg, string? baseModelNameOrPath = null, string? taskType = null)
    {
        var target = cfg.TargetModules.Pattern is { } pattern
            ? (JsonNode)JsonValue.Create(pattern)
            : new JsonArray(cfg.TargetModules.Names!.Select(n => (JsonNode)JsonValue.Create(n)!).ToArray());
        var json = new JsonObject
        {
            ["alpha_pattern"] = new JsonObject(),
            ["auto_mapping"] = null,
            ["base_model_name_or_path"] = baseModelNameOrPath,
            ["bias"] = cfg.Bias,
            ["exclude_modules"] = null,
            ["fan_in_fan_out"] = false,
            ["inference_mode"] = true,
            ["init_lora_weights"] = true,
            ["layer_replication"] = null,
            ["layers_pattern"] = null,
            ["layers_to_transform"] = null,
            ["loftq_config"] = new JsonObject(),
            ["lora_alpha"] = NumberNode(cfg.Alpha),
            ["lora_bias"] = false,
            ["lora_dropout"] = cfg.Dropout,
            ["megatron_config"] = null,
            ["megatron_core"] = "megatron.core",
            ["modules_to_save"] = cfg.ModulesToSave.Count == 0 ? null : new JsonArray(cfg.ModulesToSave.Select(m => (JsonNode)JsonValue.Create(m)!).ToArray()),
            ["peft_type"] = "LORA",
            ["r"] = cfg.R,
            ["rank_pattern"] = new JsonObject(),
            ["revision"] = null,
            ["target_modules"] = target,
            ["task_type"] = taskType,
            ["use_dora"] = false,
            ["use_rslora"] = cfg.UseRsLora,
        };
        Directory.CreateDirectory(dir);
        string path = Path.Combine(dir, FileName);
        string temp = path + $".{Environment.ProcessId}.tmp";
        File.WriteAllText(temp, json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        File.Move(temp, path, overwrite: true);
    }

    static JsonNode NumberNode(double v) =>
        v == Math.Floor(v) && Math.Abs(v) < int.MaxValue ? JsonValue.Create((int)v) : JsonValue.Create(v);

    public static Loaded Read(string dir, string adapterName = LoraConfig.DefaultAdapterName)
    {
        string path = Path.Combine(dir, FileName);
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: adapter config not found", path);
        JsonObject root;
        try { root = JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new InvalidDataException($"{path}: not a JSON object"); }
        catch (JsonException e) { throw new InvalidDataException($"{path}: not valid JSON ({e.Message})"); }

        string? Str(string key) => root[key] is JsonValue v && v.TryGetValue(out string? s) ? s : null;
        bool Flag(string key) => root[key] is JsonValue v && v.TryGetValue(out bool b) && b;
        double Num(string key, double fallback)
        {
            if (root[key] is null) return fallback;
            try { return root[key]!.GetValue<double>(); }
            catch (Exception e) when (e is FormatException or InvalidOperationException) { throw new InvalidDataException($"{path}: '{key}' must be a number, got {root[key]!.ToJsonString()}"); }
        }
        InvalidDataException Unsupported(string key) => new($"{path}: '{key}' = {root[key]?.ToJsonString()} is not supported by MultiLora");

        if (Str("peft_type") is { } type && type != "LORA") throw new InvalidDataException($"{path}: peft_type '{type}' is not LORA");
        foreach (var flag in new[] { "use_dora", "fan_in_fan_out", "lora_bias", "use_qalora" })
            if (Flag(flag)) throw Unsupported(flag);
        foreach (var pattern in new[] { "rank_pattern", "alpha_pattern" })
            if (root[pattern] is JsonObject o && o.Count > 0) throw Unsupported(pattern);
        if (root["layers_to_transform"] is not null) throw Unsupported("layers_to_transform");

        TargetModules target = root["target_modules"] switch
        {
            JsonValue v when v.TryGetValue(out string? s) => TargetModules.FromRegex(s),
            JsonArray a => TargetModules.FromNames(a.Select(x => x?.GetValue<string>() ?? throw new InvalidDataException($"{path}: target_modules holds a null")).ToArray()),
            null => throw new InvalidDataException($"{path}: 'target_modules' is missing"),
            var other => throw new InvalidDataException($"{path}: 'target_modules' must be a string or a list, got {other.ToJsonString()}"),
        };
        var modulesToSave = root["modules_to_save"] is JsonArray m
            ? m.Select(x => x?.GetValue<string>() ?? "").Where(x => x.Length > 0).ToArray()
            : [];

        var cfg = new LoraConfig
        {
            R = (int)Num("r", 8),
            Alpha = Num("lora_alpha", 8),
            Dropout = Num("lora_dropout", 0),
            TargetModules = target,
            UseRsLora = Flag("use_rslora"),
            Bias = Str("bias") ?? "none",
            AdapterName = adapterName,
            ModulesToSave = modulesToSave,
            Prefix = "",
        };
        try { cfg.Validate(); }
        catch (ArgumentException e) { throw new InvalidDataException($"{path}: {e.Message}"); }
        return new Loaded(cfg, Str("base_model_name_or_path"), Str("task_type"));
    }

}
