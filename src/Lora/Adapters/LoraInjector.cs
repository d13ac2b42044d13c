using MultiLora.Lora.Quantization;
using MultiLora.Lora.Surgery;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace MultiLora.Lora.Adapters;

/// <summary>
/// peft's inject_adapter + mark_only_lora_as_trainable: wraps every matching linear under the config's
/// prefix in a LoraLinear (or adds the adapter to one already there), freezes everything else, and
/// unfreezes modules_to_save.
/// </summary>
public static class LoraInjector
{
    /// <summary>Injects <paramref name="cfg"/>'s adapter below <paramref name="prefix"/> (default: cfg.Prefix) and returns the wrapped module paths.</summary>
    public static List<string> Apply(Module root, LoraConfig cfg, string? prefix = null)
    {
        cfg.Validate();
        prefix ??= cfg.Prefix;
        var targets = ModuleSurgery.Find(root, (path, m) =>
            path.StartsWith(prefix, StringComparison.Ordinal)
            && (m is TorchSharp.Modules.Linear or IQuantizedLinear or LoraLinear)
            && !path.Contains(".base_layer", StringComparison.Ordinal)
            && !path.Contains(".lora_", StringComparison.Ordinal)
            && cfg.TargetModules.Matches(path));
        if (targets.Count == 0)
            throw new ArgumentException($"LoRA target_modules '{cfg.TargetModules}' matched no linear module under '{prefix}'");

        foreach (var p in root.parameters()) p.requires_grad = false;

        var wrapped = new List<string>(targets.Count);
        foreach (var (path, module) in targets)
        {
            if (module is LoraLinear existing)
            {
                existing.AddAdapter(cfg);
            }
            else
            {
                var lora = new LoraLinear((Module<Tensor, Tensor>)module);
                lora.AddAdapter(cfg);
                ModuleSurgery.Replace(root, path, lora);
            }
            wrapped.Add(path);
        }

        MarkTrainable(root, cfg);
        return wrapped;
    }

    /// <summary>
    /// Only this adapter and modules_to_save train (peft trains the active adapter; others stay as
    /// loaded). Called again after a cast, which replaces the parameters.
    /// </summary>
    public static void MarkTrainable(Module root, LoraConfig cfg)
    {
        string a = $".lora_A.{cfg.AdapterName}.", b = $".lora_B.{cfg.AdapterName}.";
        foreach (var (name, p) in root.named_parameters())
            if (name.Contains(a, StringComparison.Ordinal) || name.Contains(b, StringComparison.Ordinal))
                p.requires_grad = true;
        foreach (var (_, m) in ModulesToSave(root, cfg))
            foreach (var p in m.parameters()) p.requires_grad = true;
    }

    /// <summary>The modules named by cfg.ModulesToSave (path equal to or ending with "." + name), outermost only.</summary>
    public static List<(string Path, Module Module)> ModulesToSave(Module root, LoraConfig cfg)
    {
        if (cfg.ModulesToSave.Count == 0) return [];
        var found = ModuleSurgery.Find(root, (path, _) =>
            cfg.ModulesToSave.Any(n => path == n || path.EndsWith("." + n, StringComparison.Ordinal)));
        if (found.Count == 0)
            throw new ArgumentException($"modules_to_save [{string.Join(", ", cfg.ModulesToSave)}] matched no module");
        return found.Where(f => !found.Any(o => o.Path != f.Path && f.Path.StartsWith(o.Path + ".", StringComparison.Ordinal))).ToList();
    }

    /// <summary>All LoraLinear modules of the tree with their paths.</summary>
    public static List<(string Path, LoraLinear Module)> LoraModules(Module root) =>
        root.named_modules().Where(m => m.module is LoraLinear).Select(m => (m.name, (LoraLinear)m.module)).ToList();

    /// <summary>
    /// Wraps every linear under <paramref name="prefixes"/> (a path equal to or starting with one) that is not LoRA yet
    /// in a LoraLinear without adapters, so that per-row computation (<see cref="RowAdapters.PerRow"/>) reaches every
    /// matrix product of the language model, its head included. Returns the wrapped paths.
    /// </summary>
    public static List<string> WrapLinears(Module root, IReadOnlyList<string> prefixes)
    {
        var targets = ModuleSurgery.Find(root, (path, m) =>
            prefixes.Any(p => path == p || path.StartsWith(p, StringComparison.Ordinal))
            && m is TorchSharp.Modules.Linear or IQuantizedLinear
            && !path.Contains(".base_layer", StringComparison.Ordinal)
            && !path.Contains(".lora_", StringComparison.Ordinal));
        foreach (var (path, module) in targets) ModuleSurgery.Replace(root, path, new LoraLinear((Module<Tensor, Tensor>)module));
        return targets.Select(t => t.Path).ToList();
    }

    /// <summary>Sets per-row adapters (or null: back to the active adapter) on every LoraLinear of <paramref name="modules"/>.</summary>
    public static void SetRowAdapters(IEnumerable<LoraLinear> modules, RowAdapters? rows)
    {
        foreach (var m in modules) m.SetRowAdapters(rows);
    }

    /// <summary>
    /// Sets the active adapter (or none) on every LoraLinear; one that does not hold it (an adapter targeting other
    /// modules, a layer wrapped for serving) runs without an adapter.
    /// </summary>
    public static void SetActiveAdapter(Module root, string? adapter)
    {
        foreach (var (_, m) in LoraModules(root)) m.SetActiveAdapter(adapter is not null && m.Adapters.Contains(adapter) ? adapter : null);
    }
}
