using TorchSharp.Modules;
using static TorchSharp.torch.nn;

namespace MultiLora.Lora.Adapters;

/// <summary>
/// peft's ModuleDict of per-adapter linears (lora_A / lora_B): children named by adapter, so the
/// state-dict keys read "lora_A.&lt;adapter&gt;.weight". Unlike TorchSharp's ModuleDict, entries added
/// after registration are registered at once.
/// </summary>
public sealed class AdapterModules : Module
{
    readonly Dictionary<string, Linear> _byName = new(StringComparer.Ordinal);

    public AdapterModules() : base("ModuleDict") { }

    public Linear this[string adapter] =>
        _byName.TryGetValue(adapter, out var m) ? m : throw new KeyNotFoundException($"no LoRA adapter named '{adapter}'");

    public bool Contains(string adapter) => _byName.ContainsKey(adapter);

    public IEnumerable<string> Names => _byName.Keys;

    public void Add(string adapter, Linear module)
    {
        if (!_byName.TryAdd(adapter, module)) throw new ArgumentException($"LoRA adapter '{adapter}' already exists");
        register_module(adapter, module);
    }

    public void Remove(string adapter)
    {
        if (!_byName.Remove(adapter, out var m)) throw new KeyNotFoundException($"no LoRA adapter named '{adapter}'");
        register_module(adapter, null!);
        m.Dispose();
    }
}
