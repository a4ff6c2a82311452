Console.WriteLine("jvpn");
