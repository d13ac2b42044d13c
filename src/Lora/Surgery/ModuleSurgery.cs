using System.Reflection;
using TorchSharp;
using static TorchSharp.torch.nn;
using Module = TorchSharp.torch.nn.Module;

namespace MultiLora.Lora.Surgery;

/// <summary>
/// Finds modules of a TorchSharp module tree by their dotted path (the same names Hugging Face uses)
/// and swaps a child for another module from outside, so model code never has to know about LoRA
/// or quantization.
/// </summary>
public static class ModuleSurgery
{
    // TorchSharp keeps submodules in this protected ordered dictionary; we reach it to keep a replaced
    // child at its original position (register_module would append it, reordering parameters()).
    static readonly FieldInfo? SubmodulesField =
        typeof(Module).GetField("_internal_submodules", BindingFlags.Instance | BindingFlags.NonPublic);

    /// <summary>The module at <paramref name="path"/> ("" is the root itself).</summary>
    public static Module Get(Module root, string path)
    {
        if (path.Length == 0) return root;
        Module current = root;
        string walked = "";
        foreach (var part in path.Split('.'))
        {
            var child = current.named_children().FirstOrDefault(c => c.name == part).module;
            walked = walked.Length == 0 ? part : walked + "." + part;
            current = child ?? throw new ArgumentException($"module path '{path}': no submodule '{walked}'");
        }
        return current;
    }

    /// <summary>True when <paramref name="path"/> names a module of the tree.</summary>
    public static bool Exists(Module root, string path)
    {
        try { Get(root, path); return true; }
        catch (ArgumentException) { return false; }
    }

    /// <summary>All (path, module) pairs below the root whose path and module satisfy <paramref name="predicate"/>.</summary>
    public static List<(string Path, Module Module)> Find(Module root, Func<string, Module, bool> predicate) =>
        root.named_modules().Where(m => predicate(m.name, m.module)).Select(m => (m.name, m.module)).ToList();

    /// <summary>
    /// Replaces the child at <paramref name="path"/>: sets the parent's C# field that holds the old child
    /// (so the parent's forward calls the new module) and re-registers it under the same name (so
    /// named_modules, parameters and state_dict see the new one). Returns the old child (not disposed).
    /// </summary>
    public static Module Replace(Module root, string path, Module replacement)
    {
        if (path.Length == 0) throw new ArgumentException("module path '': the root cannot be replaced");
        int dot = path.LastIndexOf('.');
        string parentPath = dot < 0 ? "" : path[..dot];
        string name = path[(dot + 1)..];
        Module parent = Get(root, parentPath);
        Module old = Get(parent, name);

        var field = FindHoldingField(parent, old, name)
            ?? throw new ArgumentException($"module path '{path}': parent {parent.GetType().Name} has no field holding child '{name}' (only field-held children can be replaced)");
        if (!field.FieldType.IsInstanceOfType(replacement))
            throw new ArgumentException($"module path '{path}': field {parent.GetType().Name}.{field.Name} is typed {field.FieldType.Name}; a {replacement.GetType().Name} cannot be stored there (declare it as Module<Tensor, Tensor>)");
        field.SetValue(parent, replacement);

        int index = IndexOfChild(parent, name);
        parent.register_module(name, null!);       // null unregisters the old child
        parent.register_module(name, replacement);  // registers the new one (appended)
        RestorePosition(parent, name, index);
        return old;
    }

    static FieldInfo? FindHoldingField(Module parent, Module old, string name)
    {
        FieldInfo? byName = null;
        for (var t = parent.GetType(); t is not null && t != typeof(object); t = t.BaseType)
        {
            foreach (var f in t.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
            {
                if (!typeof(Module).IsAssignableFrom(f.FieldType) && !f.FieldType.IsAssignableFrom(typeof(Module))) continue;
                if (ReferenceEquals(f.GetValue(parent), old)) return f;
                if (f.Name == name) byName ??= f;
            }
        }
        return byName;
    }

    static int IndexOfChild(Module parent, string name)
    {
        int i = 0;
        foreach (var (n, _) in parent.named_children())
        {
            if (n == name) return i;
            i++;
        }
        return -1;
    }

    static void RestorePosition(Module parent, string name, int index)
    {
        if (index < 0 || SubmodulesField?.GetValue(parent) is not TorchSharp.Utils.OrderedDict<string, Module> dict) return;
        int now = dict.Count - 1;
        if (now == index || now < 0) return;
        var entry = dict[now];
        if (entry.Item1 != name) return;
        dict.RemoveAt(now);
        dict.Insert(index, entry);
    }
}
