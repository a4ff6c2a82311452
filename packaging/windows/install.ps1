#Requires -RunAsAdministrator
# Installs jvpn from this unpacked release zip and registers one tunnel as a Windows service.
#
#   powershell -ExecutionPolicy Bypass -File .\install.ps1 -TunnelName home -ConfigFile .\home.conf
#
# The service runs as LocalSystem (Wintun adapter creation needs SYSTEM/Administrator), own process,
# auto-start, depends on Nsi and TcpIp, SID type unrestricted (needed later for a WFP filter keyed on the
# service SID) - the same service configuration as wireguard-windows (manager/install.go).
# The service runs `jvpn.exe service run C:\ProgramData\jvpn\NAME.conf`: jvpn's Windows service host
# (Microsoft.Extensions.Hosting.WindowsServices), which answers the service control manager at once (no
# error 1053), brings the tunnel up, logs to the Application event log (source jvpn), and tears the
# tunnel down on stop/shutdown. `jvpn down NAME` from an elevated prompt also stops it (over the control
# pipe \\.\pipe\ProtectedPrefix\Administrators\WireGuard\NAME).
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)][ValidatePattern('^[A-Za-z0-9_=+.-]{1,32}$')][string]$TunnelName,
    [string]$ConfigFile,
    [switch]$NoStart
)
$ErrorActionPreference = 'Stop'

$principal = New-Object Security.Principal.WindowsPrincipal([Security.Principal.WindowsIdentity]::GetCurrent())
if (-not $principal.IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator)) {
    throw 'install.ps1 must run from an elevated (Administrator) PowerShell.'
}

$source = $PSScriptRoot
$installDir = Join-Path $env:ProgramFiles 'jvpn'
$configDir = Join-Path $env:ProgramData 'jvpn'
$serviceName = "jvpn-$TunnelName"

# wintun.dll must be the unmodified, WireGuard-signed DLL from wintun.net; refuse anything else.
$sig = Get-AuthenticodeSignature -FilePath (Join-Path $source 'wintun.dll')
if ($sig.Status -ne 'Valid') {
    throw "wintun.dll Authenticode signature is '$($sig.Status)', expected Valid. Use the DLL from wintun.net unmodified."
}
if ($null -eq $sig.SignerCertificate -or $sig.SignerCertificate.Subject -notmatch 'WireGuard') {
    throw "wintun.dll is not signed by WireGuard (signer: '$($sig.SignerCertificate.Subject)')."
}

New-Item -ItemType Directory -Force -Path $installDir | Out-Null
foreach ($file in Get-ChildItem -Path $source -File) {
    if ($file.Extension -in '.exe', '.dll', '.txt', '.md', '.ps1') {
        Copy-Item -Force -Path $file.FullName -Destination $installDir
    }
}

# Config directory readable only by SYSTEM and Administrators: it holds the private key.
New-Item -ItemType Directory -Force -Path $configDir | Out-Null
icacls.exe $configDir /inheritance:r /grant:r 'SYSTEM:(OI)(CI)F' 'Administrators:(OI)(CI)F' | Out-Null
$configPath = Join-Path $configDir "$TunnelName.conf"
if ($ConfigFile) {
    Copy-Item -Force -Path $ConfigFile -Destination $configPath
}
if (-not (Test-Path $configPath)) {
    Write-Warning "No config at $configPath yet; put one there before starting the service."
}

$exe = Join-Path $installDir 'jvpn.exe'
$binaryPath = "`"$exe`" service run `"$configPath`""
if (Get-Service -Name $serviceName -ErrorAction SilentlyContinue) {
    throw "Service $serviceName already exists; run uninstall.ps1 -TunnelName $TunnelName first."
}
New-Service -Name $serviceName -BinaryPathName $binaryPath -DisplayName "jvpn tunnel $TunnelName" `
    -Description 'jvpn WireGuard-compatible VPN tunnel' -StartupType Automatic -DependsOn Nsi, TcpIp | Out-Null
# sc.exe needs the space after '='.
sc.exe sidtype $serviceName unrestricted | Out-Null
sc.exe failure $serviceName reset= 86400 actions= restart/5000/restart/5000/restart/5000 | Out-Null

if (-not $NoStart -and (Test-Path $configPath)) {
    Start-Service -Name $serviceName
}
Write-Host "Installed jvpn to $installDir; service $serviceName uses $configPath."
