namespace MultiLora.Serve.Engine;

/// <summary>An adapter the server knows: where it came from, whether requests may use it, and how many do.</summary>
public sealed class AdapterEntry(string name, string dir)
{
    public string Name { get; } = name;
    public string Dir { get; } = dir;
    public bool Ready { get; internal set; }
    public bool Unloading { get; internal set; }
    /// <summary>Requests queued or running with this adapter.</summary>
    public int InUse { get; internal set; }
    public DateTimeOffset Created { get; } = DateTimeOffset.UtcNow;
}

/// <summary>A load or unload that cannot be done as asked (a name taken, an adapter still in use, an unknown name).</summary>
public sealed class AdapterConflictException(string message, bool notFound = false) : Exception(message)
{
    /// <summary>The adapter does not exist (404) rather than being in the way (409 / 400).</summary>
    public bool NotFound { get; } = notFound;
}

/// <summary>
/// The adapters by name, with their use counts. Not thread-safe on its own: the scheduler calls it under its lock,
/// so that accepting a request for an adapter and unloading that adapter cannot interleave.
/// </summary>
public sealed class AdapterRegistry(string baseModelId)
{
    readonly Dictionary<string, AdapterEntry> _entries = new(StringComparer.Ordinal);

    public IEnumerable<AdapterEntry> ReadyAdapters => _entries.Values.Where(e => e.Ready && !e.Unloading).OrderBy(e => e.Created).ThenBy(e => e.Name, StringComparer.Ordinal);

    /// <summary>Resolves a request's model id: the base (adapter null) or a ready adapter; false when neither.</summary>
    public bool TryAcquire(string model, out string? adapter)
    {
        adapter = null;
        if (model == baseModelId) return true;
        if (!_entries.TryGetValue(model, out var e) || !e.Ready || e.Unloading) return false;
        e.InUse++;
        adapter = model;
        return true;
    }

    public void Release(string? adapter)
    {
        if (adapter is not null && _entries.TryGetValue(adapter, out var e)) e.InUse--;
    }

    public AdapterEntry BeginLoad(string name, string dir)
    {
        if (string.IsNullOrWhiteSpace(name) || name.Contains('.'))
            throw new ArgumentException($"adapter name '{name}' must be non-empty and contain no '.'");
        if (name == baseModelId) throw new AdapterConflictException($"'{name}' is the base model's id: give the adapter another name");
        if (_entries.ContainsKey(name)) throw new AdapterConflictException($"an adapter named '{name}' is already loaded");
        var entry = new AdapterEntry(name, dir);
        _entries[name] = entry;
        return entry;
    }

    public void EndLoad(string name, bool ok)
    {
        if (ok) _entries[name].Ready = true;
        else _entries.Remove(name);
    }

    public void BeginUnload(string name)
    {
        if (!_entries.TryGetValue(name, out var e) || !e.Ready || e.Unloading)
            throw new AdapterConflictException($"no adapter named '{name}' is loaded", notFound: true);
        if (e.InUse > 0)
            throw new AdapterConflictException($"adapter '{name}' is in use by {e.InUse} request(s): unload it when they have finished");
        e.Unloading = true;
    }

    public void EndUnload(string name, bool ok)
    {
        if (ok) _entries.Remove(name);
        else _entries[name].Unloading = false;
    }
}
