using System.Collections;
using System.Reflection;

namespace SwarmPS.Module.Tests.Hosting;

/// <summary>
/// Builds a realistic instance of any SwarmPS output type for the format-view tests: every settable
/// property (and constructor parameter) gets a value of its type, with realistic lengths for the
/// values users read in a table (tickets, ids, paths, the longest name of every enum).
/// </summary>
public static class SampleObjects
{
    public const string Ticket = "CHECKOUT-1234";
    public static readonly DateTimeOffset When = new(2026, 12, 8, 9, 30, 0, TimeSpan.Zero);
    private const string LongText = "Refactor the checkout flow so that the payment step validates the card before it reserves the stock";

    public static object Create(Type type) => Value(type, type.Name, depth: 0, owner: type) ?? throw new InvalidOperationException($"cannot build {type}");

    /// <summary>The text a property of a sample has, for the assertions (what a user must be able to read).</summary>
    public static string? Text(object sample, string property)
    {
        var v = sample.GetType().GetProperty(property)?.GetValue(sample);
        return v switch { null => null, string s => s, Enum e => e.ToString(), IFormattable f => f.ToString(null, System.Globalization.CultureInfo.InvariantCulture), _ => v.ToString() };
    }

    private static string StringFor(string name, Type owner) => name switch
    {
        "Ticket" or "EnvironmentTicket" => Ticket,
        "OldStatus" => "Creating",
        "NewStatus" => "Running",
        "Id" when owner.Name == "SwarmAgent" => "ag-e749dd0300",
        "Id" when owner.Name.Contains("Task", StringComparison.Ordinal) => "t-f8579bcf",
        "Id" or "SwarmId" when owner.Name.StartsWith("Swarm", StringComparison.Ordinal) && owner.Name != "SwarmEvent" => "sw-5d41402abc",
        "Id" or "InjectionId" => "in-7f3a9c21e0",
        "AgentId" => "ag-e749dd0300",
        "TaskId" => "t-f8579bcf",
        "Name" when owner.Name == "SwarmProviderInfo" => "worktree",
        "Name" => "nightly-base",
        "Provider" => "worktree",
        "Profile" => "claude",
        "Branch" => "swarm/" + Ticket,
        "BaseRef" or "Base" or "TargetBranch" or "Into" => "main",
        "Kind" when owner.Name == "SwarmEvent" => "environment",
        "Subject" => Ticket,
        "Kind" => "environment.created",
        "Commit" or "Head" or "Sha" => "196d1d730887849393c5f4ecaf3eca3d7bbaa2ad",
        "Host" or "Address" => "10.0.3.15",
        "User" or "SshUser" => "swarm",
        "Stream" => "stdout",
        "Tool" => "Bash",
        "Model" => "claude-sonnet-4-5",
        "Partition" => "debug",
        "Format" => "qcow2",
        _ when name.EndsWith("Path", StringComparison.Ordinal) || name.EndsWith("Directory", StringComparison.Ordinal) || name is "Path" or "File" or "KeyPath" =>
            "/home/dev/.swarmps/worktrees/shop-b67ec353/" + Ticket + "/" + name.ToLowerInvariant(),
        "Text" or "Message" or "Result" or "Error" or "Prompt" or "Title" or "Description" or "Summary" or "Reason" or "Detail" or "Details" or "Action" or "Data" or "Response" or "Problem" or "Fix" => LongText,
        _ => name + "-value",
    };

    private static object? Value(Type type, string name, int depth, Type owner)
    {
        var t = Nullable.GetUnderlyingType(type) ?? type;
        if (t == typeof(string)) return StringFor(name, owner);
        if (t.IsEnum)
        {
            if (name == "Status" && Enum.GetNames(t).Contains("Running")) return Enum.Parse(t, "Running");
            return Enum.Parse(t, Enum.GetNames(t).OrderByDescending(n => n.Length).First());
        }
        if (t == typeof(bool)) return true;
        if (t == typeof(int)) return name.Contains("Port", StringComparison.Ordinal) ? 22 : 12;
        if (t == typeof(long)) return 4096L;
        if (t == typeof(double)) return 0.4213;
        if (t == typeof(decimal)) return 0.4213m;
        if (t == typeof(float)) return 0.5f;
        if (t == typeof(DateTimeOffset)) return When;
        if (t == typeof(DateTime)) return When.UtcDateTime;
        if (t == typeof(TimeSpan)) return TimeSpan.FromSeconds(95);
        if (t == typeof(Guid)) return Guid.Parse("5c3f6f0e-8f3a-4c8e-9a77-2a1f2b6d9e41");
        if (t == typeof(Uri)) return new Uri("https://example.invalid/api");
        if (t.IsArray)
        {
            var element = t.GetElementType()!;
            var array = Array.CreateInstance(element, 2);
            for (var i = 0; i < 2; i++) array.SetValue(Value(element, name, depth + 1, owner), i);
            return array;
        }
        if (t.IsGenericType)
        {
            var args = t.GetGenericArguments();
            var def = t.GetGenericTypeDefinition();
            if (args.Length == 2 && (typeof(IDictionary).IsAssignableFrom(t) || def == typeof(IReadOnlyDictionary<,>) || def == typeof(IDictionary<,>)))
            {
                var dict = (IDictionary)Activator.CreateInstance(typeof(Dictionary<,>).MakeGenericType(args))!;
                dict[Value(args[0], "key", depth + 1, owner)!] = Value(args[1], "value", depth + 1, owner);
                return dict;
            }
            if (args.Length == 1 && typeof(IEnumerable).IsAssignableFrom(t))
            {
                var list = (IList)Activator.CreateInstance(typeof(List<>).MakeGenericType(args))!;
                if (depth < 3)
                    for (var i = 0; i < 2; i++) list.Add(Value(args[0], name, depth + 1, args[0]));
                if (t.IsAssignableFrom(list.GetType())) return list;
                if (t.GetConstructor(new[] { typeof(IEnumerable<>).MakeGenericType(args) }) is { } c) return c.Invoke(new object[] { list });
                return Activator.CreateInstance(t);
            }
        }
        if (t == typeof(object)) return StringFor(name, owner);
        if (depth > 3 || t.IsInterface || t.IsAbstract) return null;
        return Build(t, depth);
    }

    private static object? Build(Type t, int depth)
    {
        var ctor = t.GetConstructors().OrderByDescending(c => c.GetParameters().Length).FirstOrDefault();
        object instance;
        if (t.GetConstructor(Type.EmptyTypes) is { } empty) instance = empty.Invoke(null);
        else if (ctor is not null) instance = ctor.Invoke(ctor.GetParameters().Select(p => Value(p.ParameterType, Pascal(p.Name!), depth + 1, t)).ToArray());
        else if (t.IsValueType) instance = Activator.CreateInstance(t)!;
        else return null;
        foreach (var p in t.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite && p.GetIndexParameters().Length == 0))
        {
            try
            {
                p.SetValue(instance, Value(p.PropertyType, p.Name, depth + 1, t));
            }
            catch (TargetInvocationException)
            {
                // A property whose setter validates: keep the constructor's value.
            }
            catch (ArgumentException)
            {
            }
        }
        return instance;
    }

    private static string Pascal(string s) => s.Length == 0 ? s : char.ToUpperInvariant(s[0]) + s[1..];
}
