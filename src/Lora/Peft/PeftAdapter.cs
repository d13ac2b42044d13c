using MultiLora.Core.Safetensors;
using MultiLora.Lora.Adapters;
using MultiLora.Lora.Surgery;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;
using Module = TorchSharp.torch.nn.Module;

namespace MultiLora.Lora.Peft;

/// <summary>
/// Saves and loads LoRA adapters in peft's on-disk format (adapter_config.json +
/// adapter_model.safetensors with keys "base_model.model.&lt;module path&gt;.lora_A.weight", the adapter
/// name removed; modules_to_save as "base_model.model.&lt;module path&gt;.&lt;param&gt;").
/// </summary>
public static class PeftAdapter
{
    public const string WeightsFile = "adapter_model.safetensors";

    /// <summary>Writes the adapter <paramref name="cfg"/>.AdapterName of every LoraLinear in the tree, plus modules_to_save.</summary>
    public static void Save(string dir, Module root, LoraConfig cfg, string? baseModelNameOrPath = null, string? taskType = null)
    {
        var tensors = new List<KeyValuePair<string, Tensor>>();
        foreach (var (path, lora) in LoraInjector.LoraModules(root))
        {
            if (!lora.Adapters.Contains(cfg.AdapterName)) continue;
            tensors.Add(new(PeftKeyMapping.ToPeftKey(path, "lora_A.weight"), lora.LoraA(cfg.AdapterName).weight));
            tensors.Add(new(PeftKeyMapping.ToPeftKey(path, "lora_B.weight"), lora.LoraB(cfg.AdapterName).weight));
        }
        if (tensors.Count == 0) throw new ArgumentException($"no LoRA module holds adapter '{cfg.AdapterName}': nothing to save");
        foreach (var (path, module) in LoraInjector.ModulesToSave(root, cfg))
            foreach (var (name, t) in module.state_dict())
                tensors.Add(new(PeftKeyMapping.ToPeftKey(path, name), t));
        SafetensorsWriter.Write(Path.Combine(dir, WeightsFile), tensors, SafetensorsWriter.PtMetadata);
        PeftAdapterConfig.Write(dir, cfg, baseModelNameOrPath, taskType);
    }

    /// <summary>What was loaded.</summary>
    public sealed record LoadedAdapter(LoraConfig Config, string? BaseModelNameOrPath, IReadOnlyList<string> LoraModulePaths, IReadOnlyList<string> ModulesToSavePaths);

    /// <summary>
    /// Loads a peft adapter folder into the tree under the name <paramref name="adapterName"/>: the
    /// modules named by the saved keys are wrapped in LoraLinear (or get the adapter added), the
    /// weights are copied in (shape-checked), and the adapter is made active. Every key must match a
    /// module; every wrapped module must get both matrices.
    /// </summary>
    public static LoadedAdapter Load(string dir, Module root, string adapterName = LoraConfig.DefaultAdapterName)
    {
        var loaded = PeftAdapterConfig.Read(dir, adapterName);
        var cfg = loaded.Config;
        string file = Path.Combine(dir, WeightsFile);
        using var st = SafetensorsFile.Open(file);
        var (lora, plain) = Classify(st, file);

        // Check everything before touching the model, so a bad file leaves it unchanged.
        var plan = new List<(string Path, Module Target, TensorEntry A, TensorEntry B)>();
        foreach (var (path, (a, b)) in lora)
        {
            string keyA = a?.Name ?? PeftKeyMapping.ToPeftKey(path, "lora_A.weight");
            if (a is null || b is null)
                throw new InvalidDataException($"{file}: module '{path}' has only one of lora_A/lora_B ({keyA})");
            if (!ModuleSurgery.Exists(root, path))
                throw new InvalidDataException($"{file}: key '{a.Name}' matches no module (looked for '{path}')");
            var target = ModuleSurgery.Get(root, path);
            var (outF, inF) = target switch
            {
                LoraLinear l => (l.OutFeatures, l.InFeatures),
                TorchSharp.Modules.Linear l => (l.weight.shape[0], l.weight.shape[1]),
                Quantization.IQuantizedLinear q => (q.OutFeatures, q.InFeatures),
                _ => throw new InvalidDataException($"{file}: key '{a.Name}' names '{path}', a {target.GetType().Name}, not a linear layer"),
            };
            CheckShape(file, a, [cfg.R, inF]);
            CheckShape(file, b, [outF, cfg.R]);
            if (target is LoraLinear existing && existing.Adapters.Contains(adapterName))
                throw new InvalidOperationException($"module '{path}' already has an adapter named '{adapterName}': load under another name");
            plan.Add((path, target, a, b));
        }
        var plainTargets = new List<(string Key, Tensor Param, TensorEntry Entry)>();
        if (plain.Count > 0)
        {
            var state = root.state_dict();
            foreach (var (moduleKey, entry) in plain)
            {
                if (!state.TryGetValue(moduleKey, out var p))
                    throw new InvalidDataException($"{file}: key '{entry.Name}' matches no parameter (looked for '{moduleKey}')");
                CheckShape(file, entry, p.shape);
                plainTargets.Add((moduleKey, p, entry));
            }
        }

        var paths = new List<string>();
        foreach (var (path, target, a, b) in plan)
        {
            var module = target as LoraLinear;
            if (module is null)
            {
                module = new LoraLinear((Module<Tensor, Tensor>)target);
                ModuleSurgery.Replace(root, path, module);
            }
            module.AddAdapter(cfg);
            using (no_grad())
            {
                using var ta = st.Load(a.Name, ScalarType.Float32);
                using var tb = st.Load(b.Name, ScalarType.Float32);
                module.LoraA(adapterName).weight.copy_(ta);
                module.LoraB(adapterName).weight.copy_(tb);
            }
            paths.Add(path);
        }
        using (no_grad())
            foreach (var (_, p, entry) in plainTargets)
            {
                using var t = st.Load(entry.Name, p.dtype);
                p.copy_(t);
            }
        var savedModules = plainTargets.Select(p => p.Key[..p.Key.LastIndexOf('.')]).Distinct().ToList();
        return new LoadedAdapter(cfg, loaded.BaseModelNameOrPath, paths, savedModules);
    }

    /// <summary>
    /// The model parameters (state-dict keys) that loading the adapter in <paramref name="dir"/> overwrites with
    /// full copies: its modules_to_save (the projector, say). Read from the file's keys; nothing is loaded.
    /// </summary>
    public static IReadOnlyList<string> SavedParameterKeys(string dir)
    {
        string file = Path.Combine(dir, WeightsFile);
        using var st = SafetensorsFile.Open(file);
        return Classify(st, file).Plain.Select(p => p.ModuleKey).ToList();
    }

    /// <summary>The file's tensors as LoRA pairs by module path, and plain (modules_to_save) tensors by model key.</summary>
    static (Dictionary<string, (TensorEntry? A, TensorEntry? B)> Lora, List<(string ModuleKey, TensorEntry Entry)> Plain) Classify(SafetensorsFile st, string file)
    {
        var lora = new Dictionary<string, (TensorEntry? A, TensorEntry? B)>(StringComparer.Ordinal);
        var plain = new List<(string ModuleKey, TensorEntry Entry)>();
        foreach (var (key, entry) in st.Tensors)
        {
            string rest = PeftKeyMapping.StripPrefix(key, file);
            if (rest.EndsWith(".lora_A.weight", StringComparison.Ordinal) || rest.EndsWith(".lora_B.weight", StringComparison.Ordinal))
            {
                string modulePath = PeftKeyMapping.ToModulePath(rest[..^".lora_A.weight".Length]);
                var pair = lora.GetValueOrDefault(modulePath);
                lora[modulePath] = rest.EndsWith(".lora_A.weight", StringComparison.Ordinal) ? (entry, pair.B) : (pair.A, entry);
            }
            else if (rest.Contains(".lora_", StringComparison.Ordinal))
                throw new InvalidDataException($"{file}: key '{key}' is a LoRA tensor kind MultiLora does not load (only lora_A/lora_B of linears)");
            else plain.Add((PeftKeyMapping.ToModulePath(rest), entry));
        }
        return (lora, plain);
    }

    static void CheckShape(string file, TensorEntry entry, long[] expected)
    {
        if (!entry.Shape.SequenceEqual(expected))
            throw new InvalidDataException($"{file}: key '{entry.Name}' has shape [{string.Join(", ", entry.Shape)}] but the model expects [{string.Join(", ", expected)}]");
    }
}
