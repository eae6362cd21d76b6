using WebRtcCdn.Bench;

var suites = typeof(IBenchSuite).Assembly.GetTypes()
    .Where(t => typeof(IBenchSuite).IsAssignableFrom(t) && t is { IsAbstract: false, IsInterface: false })
    .Select(t => (IBenchSuite)Activator.CreateInstance(t)!)
    .OrderBy(s => s.Name, StringComparer.Ordinal)
    .ToList();

var suite = args.Length > 0 ? suites.FirstOrDefault(s => s.Name == args[0]) : null;
if (suite is null)
{
    Console.Error.WriteLine(args.Length == 0 ? "usage: WebRtcCdn.Bench SUITE [args]" : $"unknown suite '{args[0]}'");
    Console.Error.WriteLine("suites:");
    foreach (var s in suites)
    {
        Console.Error.WriteLine($"  {s.Name,-16} {s.Description}");
    }

    return 2;
}

return await suite.RunAsync(args[1..]).ConfigureAwait(false);
