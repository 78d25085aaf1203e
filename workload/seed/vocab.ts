/** Word lists that make seeded rows look like a DomainFlow installation's, not like noise. */

export const FIRST_NAMES = [
  'Ada',
  'Ben',
  'Chloe',
  'Dmitri',
  'Elena',
  'Farid',
  'Grace',
  'Hiro',
  'Ines',
  'Jonas',
  'Kemi',
  'Liam',
  'Maya',
  'Noah',
  'Olga',
  'Priya',
  'Quinn',
  'Rosa',
  'Sami',
  'Tariq',
  'Uma',
  'Victor',
  'Wen',
  'Yara',
  'Zoe',
] as const;

export const LAST_NAMES = [
  'Andersen',
  'Bauer',
  'Costa',
  'Dubois',
  'Eriksen',
  'Fischer',
  'Garcia',
  'Haddad',
  'Ivanova',
  'Jensen',
  'Kowalski',
  'Lopez',
  'Moreau',
  'Nakamura',
  'Okafor',
  'Patel',
  'Rossi',
  'Schmidt',
  'Tanaka',
  "O'Brien",
] as const;

export const EMAIL_DOMAINS = ['example.com', 'acme-growth.io', 'northwind.test', 'contoso.example'] as const;

export const USER_AGENTS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15',
  'Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148',
  'DomainFlow-CLI/1.4.2 (+https://domainflow.example/cli)',
  'curl/8.5.0',
] as const;

export const SCREEN_RESOLUTIONS = ['1920x1080', '2560x1440', '1440x900', '390x844', '3840x2160'] as const;

export const TLDS = ['com', 'net', 'org', 'io', 'co', 'ai', 'app', 'dev'] as const;

export const CONSTANTS = [
  'shop',
  'cloud',
  'market',
  'store',
  'hub',
  'labs',
  'pay',
  'host',
  'stack',
  'mail',
  'deal',
  'tech',
] as const;

export const CHARSETS = [
  'abcdefghijklmnopqrstuvwxyz',
  'abcdefghijklmnopqrstuvwxyz0123456789',
  '0123456789',
  'bcdfghjklmnpqrstvwxz',
] as const;

export const KEYWORDS = [
  'pricing',
  'buy now',
  'free trial',
  'checkout',
  'login',
  'casino',
  'crypto',
  'loan',
  'pharmacy',
  'wordpress',
  'parked',
  'for sale',
  'coming soon',
  'shopify',
  'contact us',
  'privacy policy',
] as const;

export const KEYWORD_SET_NAMES = [
  'E-commerce signals',
  'Parked domains',
  'Gambling',
  'Finance offers',
  'CMS fingerprints',
  'Phishing bait',
  'Brand mentions',
  'Adult content',
  'Pharma spam',
  'Lead-gen forms',
  'SaaS landing pages',
  'Crypto scams',
] as const;

export const PROXY_PROVIDERS = ['BrightData', 'Oxylabs', 'Smartproxy', 'IPRoyal', 'self-hosted'] as const;

export const CITIES: readonly (readonly [string, string])[] = [
  ['Frankfurt', 'DE'],
  ['Amsterdam', 'NL'],
  ['Ashburn', 'US'],
  ['Singapore', 'SG'],
  ['London', 'GB'],
  ['Tokyo', 'JP'],
  ['São Paulo', 'BR'],
  ['Paris', 'FR'],
];

export const DNS_RESOLVERS = [
  '1.1.1.1',
  '8.8.8.8',
  '9.9.9.9',
  '208.67.222.222',
  '8.8.4.4',
  '1.0.0.1',
] as const;

export const PAGE_TITLES = [
  'Welcome to nginx!',
  'Coming Soon',
  'This domain is for sale',
  'Shop the latest deals',
  'Log in',
  'Just another WordPress site',
  'Index of /',
  '403 Forbidden',
  'Home | Official Site',
] as const;
