using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace MultiLora.Data.Specs;

/// <summary>
/// YAML into snake_case-keyed classes where an unknown key is an error naming the key, the line and the
/// file (a typo such as "image_rot" must not silently fall back to a default). Shared by specs and recipes.
/// </summary>
public static partial class StrictYaml
{
    public static T Read<T>(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: file not found", path);
        return Parse<T>(File.ReadAllText(path), path);
    }

    public static T Parse<T>(string yaml, string origin)
    {
        var deserializer = new DeserializerBuilder().WithNamingConvention(UnderscoredNamingConvention.Instance).Build();
        try
        {
            return deserializer.Deserialize<T>(yaml) ?? throw new InvalidDataException($"{origin}: file is empty");
        }
        catch (YamlException e)
        {
            var unknown = UnknownProperty().Match(e.Message + " " + e.InnerException?.Message);
            var what = unknown.Success ? $"unknown key '{UnderscoredNamingConvention.Instance.Apply(unknown.Groups[1].Value)}'" : (e.InnerException?.Message ?? e.Message);
            throw new InvalidDataException($"{origin}: line {e.Start.Line}: {what}", e);
        }
    }

    [GeneratedRegex("Property '([^']+)' not found")]
    private static partial Regex UnknownProperty();
}
