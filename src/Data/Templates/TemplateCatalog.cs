using System.Reflection;

namespace MultiLora.Data.Templates;

/// <summary>
/// The built-in templates (src/Data/Templates/*.yaml, embedded) by name or alias, case-insensitive.
/// A path to a .yaml/.yml file loads a user template of the same shape.
/// </summary>
public static class TemplateCatalog
{
    const string ResourcePrefix = "MultiLora.Data.Templates.";

    static readonly Lazy<IReadOnlyDictionary<string, ConversationTemplate>> BuiltIn = new(LoadBuiltIn);

    /// <summary>Canonical names of the built-in templates.</summary>
    public static IReadOnlyList<string> Names =>
        BuiltIn.Value.Values.Select(t => t.Name).Distinct().Order(StringComparer.Ordinal).ToArray();

    public static ConversationTemplate Get(string nameOrPath)
    {
        if (BuiltIn.Value.TryGetValue(nameOrPath, out var template)) return template;
        if (nameOrPath.EndsWith(".yaml", StringComparison.OrdinalIgnoreCase) || nameOrPath.EndsWith(".yml", StringComparison.OrdinalIgnoreCase))
        {
            if (!File.Exists(nameOrPath)) throw new FileNotFoundException($"{nameOrPath}: template file not found", nameOrPath);
            return TemplateFile.Parse(File.ReadAllText(nameOrPath), nameOrPath);
        }
        var known = BuiltIn.Value.Keys.Order(StringComparer.Ordinal);
        throw new ArgumentException($"unknown conversation template '{nameOrPath}'; known: {string.Join(", ", known)} (or a path to a .yaml template)");
    }

    static IReadOnlyDictionary<string, ConversationTemplate> LoadBuiltIn()
    {
        var assembly = typeof(TemplateCatalog).Assembly;
        var byName = new Dictionary<string, ConversationTemplate>(StringComparer.OrdinalIgnoreCase);
        foreach (var resource in assembly.GetManifestResourceNames().Where(n => n.StartsWith(ResourcePrefix, StringComparison.Ordinal) && n.EndsWith(".yaml", StringComparison.Ordinal)))
        {
            using var reader = new StreamReader(assembly.GetManifestResourceStream(resource)!);
            var template = TemplateFile.Parse(reader.ReadToEnd(), resource);
            foreach (var key in template.Aliases.Prepend(template.Name))
                if (!byName.TryAdd(key, template))
                    throw new InvalidDataException($"{resource}: template name or alias '{key}' is already used by '{byName[key].Name}'");
        }
        return byName;
    }
}
