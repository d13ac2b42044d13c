using System.Globalization;
using System.Reflection;
using MultiLora.Llava.Training.Recipes;
using YamlDotNet.Serialization.NamingConventions;

namespace MultiLora.Sweeps.Grid;

/// <summary>
/// The recipe keys a grid axis may name, read off <see cref="TrainRecipe"/> (snake_case, dotted as --set spells
/// them), and whether a value fits the key's type, so a typo or a wrong value fails when the grid is read,
/// naming the key, not hours later in one cell.
/// </summary>
public static class RecipeKeys
{
    /// <summary>The type a scalar value must have for <paramref name="key"/>, or null when no such recipe key exists.</summary>
    public static Type? TypeOf(string key)
    {
        var type = typeof(TrainRecipe);
        PropertyInfo? property = null;
        foreach (var part in key.Split('.'))
        {
            property = type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
                .FirstOrDefault(p => p.CanWrite && UnderscoredNamingConvention.Instance.Apply(p.Name) == part);
            if (property is null) return null;
            type = property.PropertyType;
        }
        return property is null ? null : Nullable.GetUnderlyingType(type) ?? type;
    }

    /// <summary>null when <paramref name="value"/> fits a key of <paramref name="type"/>; else what is wrong.</summary>
    public static string? Problem(Type type, string value)
    {
        if (type == typeof(int)) return int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out _) ? null : $"'{value}' is not an integer";
        if (type == typeof(double)) return double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out _) ? null : $"'{value}' is not a number";
        if (type == typeof(bool)) return value is "true" or "false" ? null : $"'{value}' is not true or false";
        if (type == typeof(string)) return null;
        return $"a {type.Name} key cannot be a grid axis (axes take scalar values)";
    }

    /// <summary>True for a section (model, data, lora...) rather than a value.</summary>
    public static bool IsSection(Type type) => type.IsClass && type != typeof(string) && !type.IsGenericType;
}
