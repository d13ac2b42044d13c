using MultiLora.Llava.Sessions;
using MultiLora.Lora.Peft;
using static TorchSharp.torch;

namespace MultiLora.Serve.Engine;

/// <summary>
/// Adapters' modules_to_save (a stage-2 adapter carries its own projector, one that also trained the tower carries
/// that) kept per adapter, since loading an adapter copies them over the base's. They act on the image only, while a
/// request's prompt runs alone (prefill), so the scheduler installs the request's adapter's copies before each
/// prefill with an image; decode steps, which mix adapters, never read them. Adapters that save language-model
/// weights in full cannot share a batch and are refused.
/// </summary>
public sealed class SavedModules(LlavaSession session) : IDisposable
{
    static readonly string[] ImageSidePrefixes = ["model.vision_tower.", "model.multi_modal_projector."];

    readonly Dictionary<string, Tensor> _base = new(StringComparer.Ordinal);
    readonly Dictionary<string, Dictionary<string, Tensor>> _byAdapter = new(StringComparer.Ordinal);
    string? _installed;

    readonly object _holdGate = new();

    /// <summary>Loads an adapter into the session, keeping what it saves in full aside (the base's values stay installed).</summary>
    public void Load(string name, string dir)
    {
        var keys = PeftAdapter.SavedParameterKeys(dir);
        var outside = keys.Where(k => !ImageSidePrefixes.Any(p => k.StartsWith(p, StringComparison.Ordinal))).ToList();
        if (outside.Count > 0)
            throw new InvalidDataException(
                $"{dir}: the adapter saves language-model weights in full ({string.Join(", ", outside.Take(3))}{(outside.Count > 3 ? ", ..." : "")}); " +
                "requests for different adapters share decode steps, so only the vision tower and projector can differ per adapter: merge it (multilora merge) and serve the merged model");
        Install(null);
        var parameters = Parameters();
        using (no_grad())
            foreach (var key in keys.Where(k => !_base.ContainsKey(k)))
                _base[key] = parameters[key].detach().clone();

        session.LoadAdapter(name, dir);
        if (keys.Count == 0) return;
        using (no_grad())
        {
            _byAdapter[name] = keys.ToDictionary(k => k, k => parameters[k].detach().clone(), StringComparer.Ordinal);
            foreach (var key in keys) parameters[key].copy_(_base[key]);
        }
    }

    /// <summary>Unloads an adapter from the session and drops its saved copies.</summary>
    public void Unload(string name)
    {
        if (_installed == name) Install(null);
        session.UnloadAdapter(name);
        if (_byAdapter.Remove(name, out var saved))
            foreach (var t in saved.Values) t.Dispose();
    }

    /// <summary>
    /// Installs <paramref name="adapter"/>'s saved modules (null: the base's) and keeps them installed until the result
    /// is disposed: prompts prefilled on two threads at once hold them in turn, so neither swaps the other's projector
    /// out mid-forward. Without any adapter that saves modules nothing is installed and nothing waits.
    /// </summary>
    public IDisposable Hold(string? adapter)
    {
        if (_byAdapter.Count == 0) return new Held(null);   // changes only on the model thread, with no prompt running
        Monitor.Enter(_holdGate);
        try { Install(adapter); }
        catch
        {
            Monitor.Exit(_holdGate);
            throw;
        }
        return new Held(_holdGate);
    }

    sealed class Held(object? gate) : IDisposable
    {
        object? _gate = gate;
        public void Dispose()
        {
            if (_gate is null) return;
            Monitor.Exit(_gate);
            _gate = null;
        }
    }

    /// <summary>Makes the model's saved-module weights those of <paramref name="adapter"/> (null: the base's).</summary>
    void Install(string? adapter)
    {
        if (_installed == adapter) return;
        var previous = _installed is null ? null : _byAdapter.GetValueOrDefault(_installed);
        var next = adapter is null ? null : _byAdapter.GetValueOrDefault(adapter);
        // adapters without saved modules (the usual LoRA) change nothing here: no walk over the model's state dict,
        // which would cost an image request a millisecond of the batch's time
        if (previous is null && next is null)
        {
            _installed = adapter;
            return;
        }
        var parameters = Parameters();
        using (no_grad())
        {
            foreach (var key in previous?.Keys ?? Enumerable.Empty<string>())
                if (next is null || !next.ContainsKey(key)) parameters[key].copy_(_base[key]);
            foreach (var (key, value) in next ?? [])
                parameters[key].copy_(value);
        }
        _installed = adapter;
    }

    Dictionary<string, Tensor> Parameters() => session.Model.state_dict();

    public void Dispose()
    {
        foreach (var t in _base.Values) t.Dispose();
        foreach (var saved in _byAdapter.Values) foreach (var t in saved.Values) t.Dispose();
        _base.Clear();
        _byAdapter.Clear();
    }
}
