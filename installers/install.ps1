# Installs the Tether agent on Windows as a service and enrolls this machine. In PowerShell opened as
# Administrator:
#
#   & ([scriptblock]::Create((New-Object Net.WebClient).DownloadString('https://tether.example.com/install.ps1'))) -ConnectKey tck_...
#
# (`tetherctl install-command` prints this line for your control plane, pinned to its certificate.)
#
# Parameters: -ConnectKey (or the CONNECT_KEY environment variable), -DisplayName, -Group (one or more),
# -ServerUrl, and -InstallArgs for more options of `tether-agent.exe install` (docs/service.md).
#
# The control plane fills in the values below for each download: its address, its CA certificate when
# it has its own CA (the download then trusts that CA and nothing else), and the SHA-256 of the agent,
# which this script checks before it runs anything. Written for Windows PowerShell 5.1, which every
# supported Windows has.
[CmdletBinding()]
param(
    [string]$ConnectKey = $env:CONNECT_KEY,
    [string]$DisplayName,
    [string[]]$Group = @(),
    [string]$ServerUrl,
    [string[]]$InstallArgs = @()
)

$TetherUrl = ''
$TetherCa = ''
$TetherSha256 = ''

Set-StrictMode -Version 2.0
$ErrorActionPreference = 'Stop'

# Errors are thrown, not exit codes: `exit` would also close the PowerShell window this runs in.
function Fail([string]$Message) {
    throw "tether install: $Message"
}

# One argument quoted as Windows programs (Node.js among them) split a command line. PowerShell 5.1
# passes arguments that hold quotes, or are empty, wrongly, so the command line is built here.
function ConvertTo-Argument([string]$Value) {
    if ($Value -ne '' -and $Value -notmatch '[\s"]') { return $Value }
    $quoted = '"'
    $backslashes = 0
    foreach ($c in $Value.ToCharArray()) {
        if ($c -eq '\') { $backslashes++; continue }
        if ($c -eq '"') { $quoted += ('\' * (2 * $backslashes + 1)) + '"' }
        else { $quoted += ('\' * $backslashes) + $c }
        $backslashes = 0
    }
    return $quoted + ('\' * (2 * $backslashes)) + '"'
}

if (-not $TetherUrl) { Fail 'download this script from your Tether control plane: https://HOST:PORT/install.ps1' }
if (-not $ConnectKey) { Fail 'give a connect key: -ConnectKey KEY (or $env:CONNECT_KEY); tetherctl connect-keys create makes one' }
# The key itself is never printed.
if ($ConnectKey -cnotmatch '^tck_[A-Za-z0-9_-]+\z') {
    Fail 'that is not a connect key: it is tck_ followed by letters, digits, _ and -; check that it was copied whole'
}
$principal = New-Object Security.Principal.WindowsPrincipal([Security.Principal.WindowsIdentity]::GetCurrent())
if (-not $principal.IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator)) {
    Fail 'run this in PowerShell opened as Administrator'
}
if (-not [Environment]::Is64BitOperatingSystem) { Fail 'the Tether agent needs 64-bit Windows' }
$binary = 'tether-agent-win-x64.exe'
if (-not $TetherSha256) { Fail "$TetherUrl has no $binary to download (see its /downloads)" }

[Net.ServicePointManager]::SecurityProtocol = [Net.ServicePointManager]::SecurityProtocol -bor [Net.SecurityProtocolType]::Tls12
$previousCallback = [Net.ServicePointManager]::ServerCertificateValidationCallback
if ($TetherCa) {
    # Trust the control plane's own CA and nothing else: the server's certificate must chain to it and
    # name the host.
    $ca = New-Object Security.Cryptography.X509Certificates.X509Certificate2 (, [Convert]::FromBase64String($TetherCa))
    [Net.ServicePointManager]::ServerCertificateValidationCallback = {
        param($s, $certificate, $chain, $policyErrors)
        if ($policyErrors -band [Net.Security.SslPolicyErrors]::RemoteCertificateNameMismatch) { return $false }
        $built = New-Object Security.Cryptography.X509Certificates.X509Chain
        $built.ChainPolicy.RevocationMode = [Security.Cryptography.X509Certificates.X509RevocationMode]::NoCheck
        $built.ChainPolicy.VerificationFlags = [Security.Cryptography.X509Certificates.X509VerificationFlags]::AllowUnknownCertificateAuthority
        [void]$built.ChainPolicy.ExtraStore.Add($ca)
        if (-not $built.Build((New-Object Security.Cryptography.X509Certificates.X509Certificate2 $certificate))) { return $false }
        $root = $built.ChainElements[$built.ChainElements.Count - 1].Certificate
        return [Convert]::ToBase64String($root.RawData) -ceq $TetherCa
    }.GetNewClosure()
}

$tmp = Join-Path ([IO.Path]::GetTempPath()) ('tether-install-' + [Guid]::NewGuid().ToString('N'))
New-Item -ItemType Directory -Path $tmp | Out-Null
try {
    $exe = Join-Path $tmp 'tether-agent.exe'
    $url = "$TetherUrl/downloads/$binary"
    Write-Host "tether install: downloading $url"
    (New-Object Net.WebClient).DownloadFile($url, $exe)
    $actual = (Get-FileHash -Algorithm SHA256 -LiteralPath $exe).Hash
    if ($actual -ne $TetherSha256) {
        Fail "the downloaded $binary is not the one this script was made for (SHA-256 $actual, expected $TetherSha256): it changed on the server or on the way. Nothing was installed; download the script again."
    }

    $arguments = @('install', '--connect-key', $ConnectKey)
    if ($DisplayName) { $arguments += @('--display-name', $DisplayName) }
    foreach ($name in $Group) { $arguments += @('--group', $name) }
    if ($ServerUrl) { $arguments += @('--server-url', $ServerUrl) }
    $arguments += $InstallArgs

    Write-Host 'tether install: installing the agent'
    $start = New-Object Diagnostics.ProcessStartInfo
    $start.FileName = $exe
    $start.Arguments = ($arguments | ForEach-Object { ConvertTo-Argument $_ }) -join ' '
    $start.UseShellExecute = $false
    $process = [Diagnostics.Process]::Start($start)
    $process.WaitForExit()
    $status = $process.ExitCode
    $global:LASTEXITCODE = $status
} finally {
    [Net.ServicePointManager]::ServerCertificateValidationCallback = $previousCallback
    Remove-Item -LiteralPath $tmp -Recurse -Force -ErrorAction SilentlyContinue
}
if ($status -ne 0) { Fail "tether-agent install failed (exit status $status)" }
