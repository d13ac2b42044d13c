namespace MultiLora.Data.Templates.Jinja;

/// <summary>Variables of one scope (the template, a for-loop body, a macro call), looked up through the enclosing ones.</summary>
public sealed class JinjaScope(JinjaScope? parent)
{
    readonly Dictionary<string, object?> _variables = new(StringComparer.Ordinal);
    readonly JinjaScope? _parent = parent;

    public void Set(string name, object? value) => _variables[name] = value;

    public object? Lookup(string name)
    {
        for (var s = this; s is not null; s = s._parent)
            if (s._variables.TryGetValue(name, out var v)) return v;
        return Undefined.Value;
    }
}
